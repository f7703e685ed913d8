CREATE TABLE "invocation_results" (
	"invocation_id" text PRIMARY KEY NOT NULL,
	"outcome" jsonb NOT NULL,
	"expires_at_ms" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "jobs" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text DEFAULT '' NOT NULL,
	"execution_mode" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "proplet_metrics" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "proplet_metrics_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"proplet_id" text NOT NULL,
	"namespace" text DEFAULT '' NOT NULL,
	"cpu_metrics" jsonb NOT NULL,
	"memory_metrics" jsonb NOT NULL,
	"timestamp" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "task_metrics" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "task_metrics_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"task_id" uuid NOT NULL,
	"proplet_id" text NOT NULL,
	"metrics" jsonb NOT NULL,
	"aggregated" jsonb,
	"timestamp" timestamp with time zone NOT NULL
);
--> statement-breakpoint
-- A broadcast task is held by every proplet it was sent to, so the key is the pair.
ALTER TABLE "task_proplets" DROP CONSTRAINT "task_proplets_pkey";--> statement-breakpoint
ALTER TABLE "task_proplets" ADD CONSTRAINT "task_proplets_task_id_proplet_id_pk" PRIMARY KEY("task_id","proplet_id");--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "position" integer;--> statement-breakpoint
CREATE INDEX "idx_proplet_metrics_proplet_id_timestamp" ON "proplet_metrics" USING btree ("proplet_id","timestamp" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "idx_proplet_metrics_timestamp" ON "proplet_metrics" USING btree ("timestamp");--> statement-breakpoint
CREATE INDEX "idx_task_metrics_task_id_timestamp" ON "task_metrics" USING btree ("task_id","timestamp" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "idx_task_metrics_timestamp" ON "task_metrics" USING btree ("timestamp");