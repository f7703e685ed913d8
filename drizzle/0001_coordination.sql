CREATE TABLE "coordination_cursors" (
	"name" text PRIMARY KEY NOT NULL,
	"value" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ingress_slots" (
	"slot" integer PRIMARY KEY NOT NULL,
	"token" text,
	"lease_until_ms" bigint DEFAULT 0 NOT NULL,
	"used" boolean DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE TABLE "proplet_liveness" (
	"id" text PRIMARY KEY NOT NULL,
	"last_beat_ms" bigint,
	"alive" boolean DEFAULT false NOT NULL,
	"alive_beat_ms" bigint,
	"offline_at_ms" bigint,
	"registered" boolean DEFAULT false NOT NULL,
	"history" bigint[] DEFAULT '{}' NOT NULL
);
--> statement-breakpoint
CREATE TABLE "stopped_runs" (
	"proplet_id" text NOT NULL,
	"task_id" text NOT NULL,
	"expires_at_ms" bigint NOT NULL,
	CONSTRAINT "stopped_runs_proplet_id_task_id_pk" PRIMARY KEY("proplet_id","task_id")
);
