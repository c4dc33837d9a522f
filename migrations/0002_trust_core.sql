-- Refresh tokens minted before this migration may carry more rights than the credential that
-- minted them (an API key's scopes were not carried over): they all end here, and clients sign
-- in again.
DELETE FROM `refresh_tokens`;--> statement-breakpoint
CREATE TABLE `keyserver_jtis` (
	`id` text PRIMARY KEY NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `keyserver_jtis_expires` ON `keyserver_jtis` (`expires_at`);--> statement-breakpoint
ALTER TABLE `api_keys` ADD `parent_id` text REFERENCES api_keys(id) ON DELETE CASCADE;--> statement-breakpoint
CREATE INDEX `api_keys_parent` ON `api_keys` (`parent_id`) WHERE parent_id IS NOT NULL;--> statement-breakpoint
ALTER TABLE `refresh_tokens` ADD `via` text DEFAULT 'password' NOT NULL;--> statement-breakpoint
ALTER TABLE `refresh_tokens` ADD `api_key_id` text REFERENCES api_keys(id) ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE `refresh_tokens` ADD `registry_token_id` text REFERENCES registry_tokens(id) ON DELETE CASCADE;--> statement-breakpoint
CREATE INDEX `refresh_tokens_api_key` ON `refresh_tokens` (`api_key_id`) WHERE api_key_id IS NOT NULL;--> statement-breakpoint
CREATE INDEX `refresh_tokens_registry_token` ON `refresh_tokens` (`registry_token_id`) WHERE registry_token_id IS NOT NULL;