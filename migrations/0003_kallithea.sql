ALTER TABLE `users` ADD `firstname` text;--> statement-breakpoint
ALTER TABLE `users` ADD `lastname` text;--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_builtin` ON `api_keys` (`user_id`) WHERE kind = 'builtin';