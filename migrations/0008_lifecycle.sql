CREATE TABLE `deprecated_secrets` (
	`id` text PRIMARY KEY NOT NULL,
	`api_key_id` text,
	`registry_token_id` text,
	`secret_hash` text NOT NULL,
	`pepper_version` integer NOT NULL,
	`created_at` integer NOT NULL,
	`sunset_at` integer NOT NULL,
	`last_used_at` integer,
	`last_used_ip` text,
	FOREIGN KEY (`api_key_id`) REFERENCES `api_keys`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`registry_token_id`) REFERENCES `registry_tokens`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "deprecated_secrets_one_credential" CHECK((api_key_id IS NULL) <> (registry_token_id IS NULL))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `deprecated_secrets_secret_hash` ON `deprecated_secrets` (`secret_hash`);--> statement-breakpoint
CREATE INDEX `deprecated_secrets_api_key` ON `deprecated_secrets` (`api_key_id`) WHERE api_key_id IS NOT NULL;--> statement-breakpoint
CREATE INDEX `deprecated_secrets_registry_token` ON `deprecated_secrets` (`registry_token_id`) WHERE registry_token_id IS NOT NULL;--> statement-breakpoint
CREATE INDEX `deprecated_secrets_sunset` ON `deprecated_secrets` (`sunset_at`);--> statement-breakpoint
CREATE TABLE `settings` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL,
	`updated_at` integer NOT NULL,
	`updated_by` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `webhook_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`event_id` text NOT NULL,
	`endpoint_id` text NOT NULL,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`last_attempt_at` integer,
	`response_status` integer,
	`error` text,
	`created_at` integer NOT NULL,
	`delivered_at` integer,
	FOREIGN KEY (`event_id`) REFERENCES `webhook_events`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`endpoint_id`) REFERENCES `webhook_endpoints`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `webhook_deliveries_due` ON `webhook_deliveries` (`next_attempt_at`) WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX `webhook_deliveries_endpoint` ON `webhook_deliveries` (`endpoint_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_event` ON `webhook_deliveries` (`event_id`);--> statement-breakpoint
CREATE TABLE `webhook_endpoints` (
	`id` text PRIMARY KEY NOT NULL,
	`url` text NOT NULL,
	`events` text NOT NULL,
	`description` text,
	`secret_enc` text NOT NULL,
	`created_at` integer NOT NULL,
	`created_by` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `webhook_events` (
	`id` text PRIMARY KEY NOT NULL,
	`type` text NOT NULL,
	`created_at` integer NOT NULL,
	`data` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `webhook_events_created` ON `webhook_events` (`created_at`);--> statement-breakpoint
ALTER TABLE `api_keys` ADD `expiry_notice` integer;--> statement-breakpoint
ALTER TABLE `refresh_tokens` ADD `deprecated_secret_id` text REFERENCES deprecated_secrets(id) ON DELETE cascade;--> statement-breakpoint
CREATE INDEX `refresh_tokens_deprecated_secret` ON `refresh_tokens` (`deprecated_secret_id`) WHERE deprecated_secret_id IS NOT NULL;--> statement-breakpoint
ALTER TABLE `registry_tokens` ADD `expiry_notice` integer;