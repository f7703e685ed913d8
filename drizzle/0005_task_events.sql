-- Task changes for GET /events (src/db/task-event-log.ts). A trigger records them, so a change made by any
-- process, on any host, through any statement is seen, with the state it left, in the transaction that made
-- it. Recorded only while an api process streams events (it holds a lease in task_event_watchers): when no
-- one watches, a change costs one look at that tiny table. NOTIFY was measured instead and serialises the
-- commits of every notifying transaction (6x fewer state changes per second); a row in an unlogged table
-- costs no WAL. Unlogged tables are emptied by a crash of Postgres, which only means a client resyncs.
CREATE UNLOGGED TABLE "task_events" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
	"kind" text NOT NULL,
	"task_id" uuid NOT NULL,
	"name" text NOT NULL,
	"state" smallint NOT NULL,
	"previous_state" smallint,
	"proplet_id" text,
	"attempt" integer NOT NULL,
	"error" text,
	"changed_at" timestamp with time zone NOT NULL,
	"recorded_at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL
);
--> statement-breakpoint
-- The database clock judges the leases, since the trigger reads them and has no other.
CREATE UNLOGGED TABLE "task_event_watchers" (
	"watcher" text PRIMARY KEY NOT NULL,
	"until" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE FUNCTION "propeller_record_task_event"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM task_event_watchers WHERE until > now()) THEN
		RETURN NULL;
	END IF;
	IF TG_OP = 'DELETE' THEN
		INSERT INTO task_events (kind, task_id, name, state, previous_state, proplet_id, attempt, changed_at)
		VALUES ('deleted', OLD.id, OLD.name, OLD.state, NULL, OLD.proplet_id, OLD.attempt, clock_timestamp());
	ELSE
		-- An error can be long (a broadcast names every proplet's): the task itself has all of it.
		INSERT INTO task_events (kind, task_id, name, state, previous_state, proplet_id, attempt, error, changed_at)
		VALUES (CASE TG_OP WHEN 'INSERT' THEN 'created' ELSE 'changed' END, NEW.id, NEW.name, NEW.state,
			CASE TG_OP WHEN 'UPDATE' THEN OLD.state END, NEW.proplet_id, NEW.attempt, left(NEW.error, 1000),
			NEW.updated_at);
	END IF;
	RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "task_events_created" AFTER INSERT ON "tasks"
	FOR EACH ROW EXECUTE FUNCTION "propeller_record_task_event"();
--> statement-breakpoint
-- Only statements that set the state or the attempt, and only when one of them changed.
CREATE TRIGGER "task_events_changed" AFTER UPDATE OF "state", "attempt" ON "tasks"
	FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.attempt IS DISTINCT FROM NEW.attempt)
	EXECUTE FUNCTION "propeller_record_task_event"();
--> statement-breakpoint
CREATE TRIGGER "task_events_deleted" AFTER DELETE ON "tasks"
	FOR EACH ROW EXECUTE FUNCTION "propeller_record_task_event"();
