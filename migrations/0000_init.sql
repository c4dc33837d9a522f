CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`kind` text NOT NULL,
	`label` text NOT NULL,
	`secret_hash` text NOT NULL,
	`pepper_version` integer NOT NULL,
	`scopes` text,
	`creator_ua` text,
	`generated_by` text DEFAULT 'manual' NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer,
	`last_used_at` integer,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_secret_hash` ON `api_keys` (`secret_hash`);--> statement-breakpoint
CREATE INDEX `api_keys_user` ON `api_keys` (`user_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `api_keys_expires` ON `api_keys` (`expires_at`) WHERE expires_at IS NOT NULL;--> statement-breakpoint
CREATE TABLE `audit_log` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer NOT NULL,
	`kind` text NOT NULL,
	`actor_id` text,
	`actor_name` text,
	`subject_user_id` text,
	`target_type` text,
	`target_id` text,
	`ip` text,
	`request_id` text,
	`metadata` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `audit_log_at` ON `audit_log` (`at`);--> statement-breakpoint
CREATE INDEX `audit_log_subject` ON `audit_log` (`subject_user_id`,`id`);--> statement-breakpoint
CREATE TABLE `auth_failures` (
	`key` text PRIMARY KEY NOT NULL,
	`window_start` integer NOT NULL,
	`count` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `auth_failures_window` ON `auth_failures` (`window_start`);--> statement-breakpoint
CREATE TABLE `public_repositories` (
	`pattern` text PRIMARY KEY NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `refresh_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`service` text NOT NULL,
	`client_id` text,
	`secret_hash` text NOT NULL,
	`pepper_version` integer NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`last_used_at` integer,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `refresh_tokens_secret_hash` ON `refresh_tokens` (`secret_hash`);--> statement-breakpoint
CREATE INDEX `refresh_tokens_user` ON `refresh_tokens` (`user_id`);--> statement-breakpoint
CREATE INDEX `refresh_tokens_expires` ON `refresh_tokens` (`expires_at`);--> statement-breakpoint
CREATE TABLE `registries` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`hostname` text NOT NULL,
	`owner_id` text,
	`created_at` integer NOT NULL,
	`created_by` text NOT NULL,
	`updated_at` integer,
	`updated_by` text,
	FOREIGN KEY (`owner_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `registries_name_unique` ON `registries` (`name`);--> statement-breakpoint
CREATE UNIQUE INDEX `registries_hostname_unique` ON `registries` (`hostname`);--> statement-breakpoint
CREATE TABLE `registry_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`registry_id` text NOT NULL,
	`name` text NOT NULL,
	`secret_hash` text NOT NULL,
	`pepper_version` integer NOT NULL,
	`scopes` text NOT NULL,
	`status` text NOT NULL,
	`expires_at` integer,
	`created_at` integer NOT NULL,
	`created_by` text NOT NULL,
	`created_by_user_id` text NOT NULL,
	`updated_at` integer,
	`updated_by` text,
	`updated_by_user_id` text,
	`last_used_at` integer,
	FOREIGN KEY (`registry_id`) REFERENCES `registries`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `registry_tokens_secret_hash` ON `registry_tokens` (`secret_hash`);--> statement-breakpoint
CREATE UNIQUE INDEX `registry_tokens_registry_name` ON `registry_tokens` (`registry_id`,`name`);--> statement-breakpoint
CREATE INDEX `registry_tokens_expires` ON `registry_tokens` (`expires_at`) WHERE expires_at IS NOT NULL;--> statement-breakpoint
CREATE TABLE `repository_permissions` (
	`user_id` text NOT NULL,
	`pattern` text NOT NULL,
	`role` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`user_id`, `pattern`),
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `service_keys` (
	`kid` text PRIMARY KEY NOT NULL,
	`service` text NOT NULL,
	`name` text,
	`alg` text NOT NULL,
	`jwk` text NOT NULL,
	`metadata` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer,
	`rotation_duration_s` integer,
	`approval_type` text,
	`approver` text,
	`approved_at` integer,
	`approval_notes` text,
	`private_key_enc` text,
	`certificate` text,
	`flagged_at` integer
);
--> statement-breakpoint
CREATE INDEX `service_keys_service` ON `service_keys` (`service`,`created_at`);--> statement-breakpoint
CREATE INDEX `service_keys_expires` ON `service_keys` (`expires_at`) WHERE expires_at IS NOT NULL;--> statement-breakpoint
CREATE INDEX `service_keys_unapproved` ON `service_keys` (`created_at`) WHERE approved_at IS NULL;--> statement-breakpoint
CREATE TABLE `sessions` (
	`id_hash` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`csrf_token` text NOT NULL,
	`created_at` integer NOT NULL,
	`signed_in_at` integer,
	`expires_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `sessions_expires` ON `sessions` (`expires_at`);--> statement-breakpoint
CREATE TABLE `token_authorities` (
	`id` text PRIMARY KEY NOT NULL,
	`certificate_pem` text NOT NULL,
	`private_key_enc` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `users` (
	`id` text PRIMARY KEY NOT NULL,
	`username` text NOT NULL,
	`email` text,
	`password_hash` text,
	`enabled` integer DEFAULT true NOT NULL,
	`superuser` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer,
	`last_login_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_username_unique` ON `users` (`username`);