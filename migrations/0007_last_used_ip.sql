ALTER TABLE `api_keys` ADD `last_used_ip` text;--> statement-breakpoint
ALTER TABLE `refresh_tokens` ADD `last_used_ip` text;--> statement-breakpoint
ALTER TABLE `registry_tokens` ADD `last_used_ip` text;--> statement-breakpoint
ALTER TABLE `sessions` ADD `last_used_ip` text;--> statement-breakpoint
ALTER TABLE `users` ADD `last_login_ip` text;