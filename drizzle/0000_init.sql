CREATE TABLE "proplets" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"task_count" integer DEFAULT 0 NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"last_alive_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "task_proplets" (
	"task_id" uuid PRIMARY KEY NOT NULL,
	"proplet_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tasks" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"kind" text DEFAULT 'standard' NOT NULL,
	"state" smallint DEFAULT 0 NOT NULL,
	"image_url" text,
	"file" "bytea",
	"cli_args" jsonb,
	"inputs" jsonb,
	"env" jsonb,
	"daemon" boolean DEFAULT false NOT NULL,
	"latent" boolean DEFAULT false NOT NULL,
	"encrypted" boolean DEFAULT false NOT NULL,
	"kbs_resource_path" text,
	"requested_proplet_id" text,
	"proplet_id" text,
	"depends_on" jsonb,
	"run_if" text,
	"workflow_id" uuid,
	"job_id" uuid,
	"results" jsonb,
	"error" text,
	"monitoring_profile" jsonb,
	"mode" text,
	"schedule" text,
	"is_recurring" boolean DEFAULT false NOT NULL,
	"timezone" text,
	"next_run" timestamp with time zone,
	"broadcast" boolean DEFAULT false NOT NULL,
	"priority" smallint DEFAULT 50 NOT NULL,
	"metadata" jsonb,
	"hal_storage_path" text,
	"attempt" integer DEFAULT 0 NOT NULL,
	"scheduled_at" timestamp with time zone,
	"start_time" timestamp with time zone,
	"finish_time" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "task_proplets" ADD CONSTRAINT "task_proplets_task_id_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."tasks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "task_proplets" ADD CONSTRAINT "task_proplets_proplet_id_proplets_id_fk" FOREIGN KEY ("proplet_id") REFERENCES "public"."proplets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "idx_task_proplets_proplet_id" ON "task_proplets" USING btree ("proplet_id");--> statement-breakpoint
CREATE INDEX "idx_tasks_state" ON "tasks" USING btree ("state");--> statement-breakpoint
CREATE INDEX "idx_tasks_proplet_id" ON "tasks" USING btree ("proplet_id");--> statement-breakpoint
CREATE INDEX "idx_tasks_created_at" ON "tasks" USING btree ("created_at" DESC NULLS LAST,"id");--> statement-breakpoint
CREATE INDEX "idx_tasks_workflow_id" ON "tasks" USING btree ("workflow_id");--> statement-breakpoint
CREATE INDEX "idx_tasks_job_id" ON "tasks" USING btree ("job_id");--> statement-breakpoint
CREATE INDEX "idx_tasks_metadata" ON "tasks" USING gin ("metadata" jsonb_path_ops);