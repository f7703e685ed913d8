import type { Pool } from 'pg';
import { and, count, eq, getTableColumns, inArray, isNotNull, sql, type SQL } from 'drizzle-orm';
import { FILE_HEAD_BYTES, FILE_TAIL_BYTES, redactFile, redactFromPreview } from '../domain/file-redaction.ts';
import type { NewTask, Task } from '../domain/task.ts';
import { TaskState as TaskStateValues, TRANSITIONS, type TaskState } from '../domain/task-state.ts';
import { AttemptOutcome } from '../domain/task-attempt.ts';
import type { RetryCause } from '../domain/retry-policy.ts';
import { closeAttempts, openAttempts } from './attempt-records.ts';
import type { Database } from './connection.ts';
import { PreparedStatement } from './prepared-statement.ts';
import { proplets, taskAttempts, taskProplets, tasks } from './schema.ts';

/** Fields a finished run writes. */
export interface Outcome {
  state: TaskState;
  results?: unknown;
  error?: string | null;
  finishTime: Date;
  /** How the run ended, for its history; by default completed or failed, as the state says. */
  attemptOutcome?: AttemptOutcome;
}

/** What a task was before it was scheduled: what unschedule puts back. */
export interface PreviousRun {
  state: TaskState;
  attempt: number;
  retries: number;
  results: unknown;
  error: string | null;
  startTime: Date | null;
  finishTime: Date | null;
  scheduledAt: Date | null;
  updatedAt: Date;
}

/** A run that ended and is to be tried again: why, for the task's error and its history. */
export interface RetryReason {
  cause: RetryCause;
  error: string;
  at: Date;
  /** The next run is queued this long after `at`. */
  delayMs: number;
}

/** A task that has just reached a terminal state, with the groups whose progress it may unblock. */
export interface FinishedTask {
  id: string;
  workflowId: string | null;
  jobId: string | null;
  /**
   * When the run's start was accepted (a retry: when it was due), as finish() returns it; null for a task
   * that was never started.
   */
  scheduledAt?: Date | null;
}

export interface TaskPatch {
  name?: string;
  inputs?: string[];
  file?: Uint8Array;
  imageUrl?: string;
  env?: Record<string, string>;
  cliArgs?: string[];
  priority?: number;
  metadata?: Record<string, unknown>;
  /** null clears the schedule. */
  schedule?: string | null;
  timezone?: string;
  isRecurring?: boolean;
  maxRetries?: number;
  retryOnError?: boolean;
  /** Computed by the service from the schedule, never sent by clients. */
  nextRun?: Date | null;
}

/** What registering a task's cron schedule needs. */
export interface ScheduledTask {
  id: string;
  schedule: string;
  timezone: string | null;
  isRecurring: boolean;
  nextRun: Date | null;
}

const { file: _file, scheduledAt: _scheduledAt, ...columnsWithoutFile } = getTableColumns(tasks);

/**
 * Every column but the Wasm bytes, plus what showing them redacted needs: the size, the first bytes and
 * the last base64 groups (the tail starts at a multiple of 3, so it encodes exactly like the end of the
 * whole file). The API never needs more, so it never reads whole binaries.
 */
export const summaryColumns = {
  ...columnsWithoutFile,
  fileSize: sql<number>`coalesce(octet_length(${tasks.file}), 0)`.mapWith(Number),
  fileHead: sql<Buffer | null>`substring(${tasks.file} from 1 for ${sql.raw(String(FILE_HEAD_BYTES))})`,
  fileTail: sql<Buffer | null>`substring(${tasks.file} from (3 * greatest(ceil(octet_length(${tasks.file}) / 3.0)::int - ${sql.raw(String(FILE_TAIL_BYTES / 3))}, 0)) + 1)`,
};

export type SummaryRow = { [K in keyof typeof columnsWithoutFile]: (typeof tasks.$inferSelect)[K] } & {
  fileSize: number;
  fileHead: Buffer | null;
  fileTail: Buffer | null;
};

export function fromSummary({ fileHead, fileTail, ...row }: SummaryRow): Task {
  return {
    ...row,
    state: row.state as TaskState,
    file: null,
    filePreview: redactFromPreview(row.fileSize, fileHead ?? Buffer.alloc(0), fileTail ?? Buffer.alloc(0)),
  };
}

type ScheduledRow = {
  attempt: number;
  state: number;
  previous_attempt: number;
  retries: number;
  results: unknown;
  error: string | null;
  start_time: string | Date | null;
  finish_time: string | Date | null;
  scheduled_at: string | Date | null;
  updated_at: string | Date;
};

type FinishedRow = {
  id: string;
  workflow_id: string | null;
  job_id: string | null;
  scheduled_at: string | Date | null;
};

export class TaskRepository {
  /**
   * The reads of every start, prepared once per connection: Postgres skips parsing and planning them and
   * drizzle skips building them.
   */
  private readonly byId;
  private readonly summaryById;
  private readonly runStateById;

  /** The writes of every start and finish, prepared as the reads are (see PreparedStatement). */
  private readonly scheduleStatement;
  private readonly dispatchStatement;
  private readonly finishStatements = new Map<string, PreparedStatement<FinishedRow>>();
  private readonly named: (name: string) => string;

  constructor(
    private readonly db: Database,
    private readonly pool: Pool,
    { namedStatements = true }: { namedStatements?: boolean } = {},
  ) {
    const id = sql.placeholder('id');
    // An empty name makes node-postgres send an unnamed statement, parsed afresh each time.
    const named = (name: string) => (namedStatements ? name : '');
    this.named = named;
    this.scheduleStatement = new PreparedStatement<ScheduledRow>(pool, named('task_schedule'), scheduleSql());
    this.dispatchStatement = new PreparedStatement<{ moved: number }>(
      pool,
      named('task_mark_dispatched'),
      markDispatchedSql(),
    );
    this.byId = db
      .select({ ...columnsWithoutFile, file: tasks.file })
      .from(tasks)
      .where(eq(tasks.id, id))
      .prepare(named('task_by_id'));
    this.runStateById = db
      .select({ state: tasks.state, attempt: tasks.attempt, propletId: tasks.propletId })
      .from(tasks)
      .where(eq(tasks.id, id))
      .prepare(named('task_run_state_by_id'));
    this.summaryById = db
      .select(summaryColumns)
      .from(tasks)
      .where(eq(tasks.id, id))
      .prepare(named('task_summary_by_id'));
  }

  async insert(task: NewTask & { id: string; nextRun?: Date | null }): Promise<Task> {
    const file = task.file ? Buffer.from(task.file) : null;
    const [row] = await this.db
      .insert(tasks)
      .values({ ...task, file })
      .returning(columnsWithoutFile);
    const fileSize = file?.length ?? 0;
    return { ...row!, state: row!.state as TaskState, file: null, fileSize, filePreview: redactFile(file) };
  }

  /** The whole task, Wasm bytes included: what a start command carries. */
  async findById(id: string): Promise<Task | undefined> {
    const [row] = await this.byId.execute({ id });
    if (!row) return undefined;
    return { ...row, state: row.state as TaskState, fileSize: row.file?.length ?? 0 };
  }

  /** The task without its Wasm bytes (file redacted in filePreview): what the API shows. */
  async findSummary(id: string): Promise<Task | undefined> {
    const [row] = await this.summaryById.execute({ id });
    return row ? fromSummary(row) : undefined;
  }

  async exists(id: string): Promise<boolean> {
    const [row] = await this.db.select({ id: tasks.id }).from(tasks).where(eq(tasks.id, id));
    return row !== undefined;
  }

  /** Those of `ids` that name a task. */
  async existing(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.db
      .select({ id: tasks.id })
      .from(tasks)
      .where(inArray(tasks.id, [...ids]));
    return new Set(rows.map((row) => row.id));
  }

  /** Which run the task is on and where: enough to tell whether a dispatch still stands. */
  async runState(
    id: string,
  ): Promise<{ state: TaskState; attempt: number; propletId: string | null } | undefined> {
    const [row] = await this.runStateById.execute({ id });
    return row ? { ...row, state: row.state as TaskState } : undefined;
  }

  /** Newest first, without Wasm bytes. */
  async list(page: {
    offset: number;
    limit: number;
    /** Only tasks whose metadata contains this object (JSON containment, served by a GIN index). */
    metadata?: Record<string, unknown>;
  }): Promise<{ tasks: Task[]; total: number }> {
    const filter = page.metadata
      ? sql`${tasks.metadata} @> ${JSON.stringify(page.metadata)}::jsonb`
      : undefined;
    const [rows, total] = await Promise.all([
      this.db
        .select(summaryColumns)
        .from(tasks)
        .where(filter)
        // NULLS LAST as in idx_tasks_created_at (a bare DESC means NULLS FIRST, and sorts the whole table).
        .orderBy(sql`${tasks.createdAt} DESC NULLS LAST`, tasks.id)
        .offset(page.offset)
        .limit(page.limit),
      filter ? this.countWhere(filter) : this.countAll(),
    ]);
    return { total, tasks: rows.map(fromSummary) };
  }

  private async countWhere(filter: SQL): Promise<number> {
    const [row] = await this.db.select({ total: count() }).from(tasks).where(filter);
    return row?.total ?? 0;
  }

  /** From the totals the insert and delete triggers keep (migration 0006): counting the rows is slow. */
  private async countAll(): Promise<number> {
    const { rows } = await this.db.execute<{ total: string | null }>(
      sql`SELECT sum(tasks) AS total FROM task_totals`,
    );
    return Number(rows[0]?.total ?? 0);
  }

  /** Applies the patch; undefined when the task does not exist. */
  async update(id: string, patch: TaskPatch): Promise<Task | undefined> {
    const [row] = await this.db
      .update(tasks)
      .set({ ...patch, file: patch.file ? Buffer.from(patch.file) : undefined, updatedAt: new Date() })
      .where(eq(tasks.id, id))
      .returning(summaryColumns);
    return row ? fromSummary(row) : undefined;
  }

  /** Every task with a cron schedule: what the queue's job schedulers must match. */
  async listScheduled(): Promise<ScheduledTask[]> {
    const rows = await this.db
      .select({
        id: tasks.id,
        schedule: tasks.schedule,
        timezone: tasks.timezone,
        isRecurring: tasks.isRecurring,
        nextRun: tasks.nextRun,
      })
      .from(tasks)
      .where(isNotNull(tasks.schedule));
    return rows.filter((row): row is ScheduledTask => row.schedule !== null);
  }

  /**
   * What a tick changes: the next run, the schedule cleared after a one-shot, the reason a start was refused.
   * Only while the task still has the schedule that fired, so a PUT that changed it meanwhile wins.
   */
  async afterTick(
    id: string,
    firedSchedule: string,
    changes: { nextRun: Date | null; clearSchedule?: boolean; error?: string },
  ): Promise<boolean> {
    const rows = await this.db
      .update(tasks)
      .set({
        nextRun: changes.nextRun,
        ...(changes.clearSchedule ? { schedule: null } : {}),
        ...(changes.error === undefined ? {} : { error: changes.error }),
        updatedAt: new Date(),
      })
      .where(and(eq(tasks.id, id), eq(tasks.schedule, firedSchedule)))
      .returning({ id: tasks.id });
    return rows.length === 1;
  }

  /** Deletes the task and releases its proplet; returns what it was, for the caller to clean up after it. */
  async delete(id: string): Promise<Task | undefined> {
    return this.db.transaction(async (tx) => {
      // The row lock keeps a dispatch or a result from changing the pin between the release and the delete,
      // and takes the locks in the order every other statement takes them (task, pin, proplet).
      await tx.execute(withRelease(sql`SELECT id FROM tasks WHERE id = ${id} FOR UPDATE`));
      const [row] = await tx.delete(tasks).where(eq(tasks.id, id)).returning(summaryColumns);
      return row ? fromSummary(row) : undefined;
    });
  }

  /**
   * Pending or finished → Scheduled with a new attempt number; undefined if the task was not startable.
   * Returns what the task was, for unschedule to put back.
   */
  async schedule(id: string, now: Date): Promise<{ attempt: number; previous: PreviousRun } | undefined> {
    const rows = await this.scheduleStatement.rows({ id, at: now.toISOString() });
    const [row] = rows;
    if (!row) return undefined;
    const date = (value: string | Date | null) => (value === null ? null : new Date(value));
    return {
      attempt: row.attempt,
      previous: {
        state: row.state as TaskState,
        attempt: row.previous_attempt,
        retries: row.retries,
        results: row.results,
        error: row.error,
        startTime: date(row.start_time),
        finishTime: date(row.finish_time),
        scheduledAt: date(row.scheduled_at),
        updatedAt: new Date(row.updated_at),
      },
    };
  }

  /**
   * Puts back what schedule changed, when the start could not be queued: the task is as it was (a finished
   * one keeps its results), and the client may simply start it again.
   */
  async unschedule(id: string, attempt: number, previous: PreviousRun): Promise<void> {
    const time = (value: Date | null) => (value === null ? null : value.toISOString());
    const results =
      previous.results === null || previous.results === undefined
        ? sql`NULL`
        : sql`${JSON.stringify(previous.results)}::jsonb`;
    await this.db.execute(sql`
      UPDATE tasks SET state = ${previous.state}, attempt = ${previous.attempt}, retries = ${previous.retries},
        results = ${results}, error = ${previous.error}, start_time = ${time(previous.startTime)}::timestamptz,
        finish_time = ${time(previous.finishTime)}::timestamptz,
        scheduled_at = ${time(previous.scheduledAt)}::timestamptz,
        updated_at = ${previous.updatedAt.toISOString()}::timestamptz
      WHERE id = ${id} AND attempt = ${attempt} AND state = ${TRANSITIONS.schedule.to}`);
  }

  /** Scheduled → Pending, when the start of a task a job restart reset to Pending could not be queued. */
  async unscheduleToPending(id: string, attempt: number): Promise<void> {
    await this.db
      .update(tasks)
      .set({ state: TaskStateValues.Pending, scheduledAt: null, updatedAt: new Date() })
      .where(and(eq(tasks.id, id), eq(tasks.attempt, attempt), eq(tasks.state, TRANSITIONS.schedule.to)));
  }

  /**
   * Scheduled → Running on `propletId`, with its pin and its proplet's task count, in one statement (one
   * round trip: this is the hot path of every start). False when the task was no longer that attempt,
   * Scheduled; 'unknown-proplet' when Postgres has no such proplet.
   */
  async markDispatched(
    id: string,
    attempt: number,
    propletId: string,
    now: Date,
  ): Promise<boolean | 'unknown-proplet'> {
    try {
      const [row] = await this.dispatchStatement.rows({ id, attempt, propletId, now: now.toISOString() });
      return row?.moved === 1;
    } catch (error) {
      if (isForeignKeyViolation(error, 'task_proplets_proplet_id_proplets_id_fk')) return 'unknown-proplet';
      throw error;
    }
  }

  /**
   * Scheduled → Running on every one of `propletIds` that Postgres knows (a broadcast): one pin and one
   * task count each, in one statement. The number of proplets it went to; 0 when none of them is registered;
   * false when the task was no longer that attempt, Scheduled.
   */
  async markDispatchedToAll(
    id: string,
    attempt: number,
    propletIds: readonly string[],
    now: Date,
  ): Promise<number | false> {
    const targets = sql`ARRAY[${sql.join(
      propletIds.map((propletId) => sql`${propletId}`),
      sql`, `,
    )}]::text[]`;
    const statement = sql`
      WITH targets AS (
        SELECT id FROM proplets WHERE id = ANY(${targets})
      ), moved AS (
        UPDATE tasks SET state = ${TRANSITIONS.dispatch.to}, proplet_id = NULL,
          start_time = ${now.toISOString()}, updated_at = ${now.toISOString()}
        WHERE id = ${id} AND attempt = ${attempt} AND state = ${TRANSITIONS.dispatch.from[0]}
          AND EXISTS (SELECT 1 FROM targets)
        RETURNING id
      ), runs AS (
        SELECT moved.id, targets.id AS proplet_id FROM moved, targets
      ), pinned AS (
        INSERT INTO task_proplets (task_id, proplet_id, created_at)
        SELECT id, proplet_id, ${now.toISOString()}::timestamptz FROM runs
        ON CONFLICT (task_id, proplet_id) DO UPDATE SET created_at = excluded.created_at
      ), opened AS (${openAttempts(sql`runs`, attempt, now)}
      ), counted AS (
        UPDATE proplets SET task_count = task_count + 1
        WHERE id IN (SELECT id FROM targets) AND EXISTS (SELECT 1 FROM moved)
      )
      SELECT (SELECT count(*)::int FROM moved) AS moved, (SELECT count(*)::int FROM targets) AS targets`;
    const { rows } = await this.db.execute<{ moved: number; targets: number }>(statement);
    const [row] = rows;
    if (!row || row.targets === 0) return 0;
    return row.moved === 1 ? row.targets : false;
  }

  /** Running tasks (no broadcast) held by this proplet, with the attempt each is on. */
  async runningOn(propletId: string): Promise<Array<{ id: string; attempt: number }>> {
    return this.db
      .select({ id: tasks.id, attempt: tasks.attempt })
      .from(tasks)
      .where(
        and(
          eq(tasks.propletId, propletId),
          eq(tasks.state, TaskStateValues.Running),
          eq(tasks.broadcast, false),
        ),
      );
  }

  /** Running broadcast tasks this proplet holds a share of. */
  async broadcastSharesOf(propletId: string): Promise<string[]> {
    const rows = await this.db
      .select({ id: tasks.id })
      .from(taskProplets)
      .innerJoin(tasks, eq(tasks.id, taskProplets.taskId))
      .where(
        and(
          eq(taskProplets.propletId, propletId),
          eq(tasks.broadcast, true),
          eq(tasks.state, TaskStateValues.Running),
        ),
      );
    return rows.map((row) => row.id);
  }

  /** The proplets holding the task now (one, or every target of a broadcast not yet reported). */
  async holders(id: string): Promise<string[]> {
    const rows = await this.db
      .select({ propletId: taskProplets.propletId })
      .from(taskProplets)
      .where(eq(taskProplets.taskId, id))
      .orderBy(taskProplets.propletId);
    return rows.map((row) => row.propletId);
  }

  /**
   * Records one proplet's report on a running broadcast task it holds: its results under its id in
   * `results`, its error (named) appended to `error`, its pin and task count released. The report of the
   * last holder ends the task, Completed if no proplet failed, Failed otherwise. The task row is locked
   * first, so of two reports arriving together exactly one sees that it is the last.
   */
  async recordBroadcastShare(
    id: string,
    propletId: string,
    report: { results: unknown; error: string | null; finishTime: Date; attemptOutcome?: AttemptOutcome },
  ): Promise<'ignored' | 'recorded' | { finished: TaskState; scheduledAt: Date | null }> {
    return this.db.transaction(async (tx) => {
      const locked = await tx.execute<{ id: string }>(
        sql`SELECT id FROM tasks WHERE id = ${id} AND broadcast AND state = ${TaskStateValues.Running}
            FOR UPDATE`,
      );
      if (locked.rows.length === 0) return 'ignored';
      const released = await tx.execute<{ proplet_id: string }>(
        sql`DELETE FROM task_proplets WHERE task_id = ${id} AND proplet_id = ${propletId} RETURNING proplet_id`,
      );
      if (released.rows.length === 0) return 'ignored';
      await tx.execute(
        sql`UPDATE proplets SET task_count = greatest(task_count - 1, 0) WHERE id = ${propletId}`,
      );
      await tx.execute(
        sql`WITH ended AS (SELECT id, attempt FROM tasks WHERE id = ${id})
            ${closeAttempts(sql`ended`, {
              outcome:
                report.attemptOutcome ??
                (report.error === null ? AttemptOutcome.Completed : AttemptOutcome.Failed),
              error: report.error,
              at: report.finishTime,
              propletId,
            })}`,
      );
      const at = report.finishTime.toISOString();
      const failure = report.error === null ? null : `proplet ${propletId}: ${report.error}`;
      const { rows } = await tx.execute<{
        state: number;
        remaining: boolean;
        scheduled_at: string | Date | null;
      }>(sql`
        WITH remaining AS (SELECT EXISTS (SELECT 1 FROM task_proplets WHERE task_id = ${id}) AS held)
        UPDATE tasks SET
          results = coalesce(CASE WHEN jsonb_typeof(results) = 'object' THEN results END, '{}'::jsonb)
            || jsonb_build_object(${propletId}::text, ${JSON.stringify(report.results ?? null)}::jsonb),
          error = nullif(concat_ws('; ', error, ${failure}::text), ''),
          state = CASE WHEN (SELECT held FROM remaining) THEN state
                       WHEN nullif(concat_ws('; ', error, ${failure}::text), '') IS NULL
                         THEN ${TaskStateValues.Completed}
                       ELSE ${TaskStateValues.Failed} END,
          finish_time = CASE WHEN (SELECT held FROM remaining) THEN finish_time ELSE ${at}::timestamptz END,
          updated_at = ${at}::timestamptz
        WHERE id = ${id}
        RETURNING state, scheduled_at, (SELECT held FROM remaining) AS remaining`);
      const [row] = rows;
      if (!row || row.remaining) return 'recorded';
      return {
        finished: row.state as TaskState,
        scheduledAt: row.scheduled_at === null ? null : new Date(row.scheduled_at),
      };
    });
  }

  /**
   * Ends a running task (a broadcast being stopped) releasing every pin it has; the proplets released, or
   * undefined when it was not in one of `fromStates`.
   */
  async finishReleasingAll(
    id: string,
    fromStates: readonly TaskState[],
    outcome: Outcome,
  ): Promise<string[] | undefined> {
    const { rows } = await this.db.execute<{ id: string; proplet_id: string | null }>(sql`
      WITH changed AS (
        UPDATE tasks SET state = ${outcome.state}, error = ${outcome.error ?? null},
          finish_time = ${outcome.finishTime.toISOString()}, updated_at = ${outcome.finishTime.toISOString()}
        WHERE id = ${id} AND state IN (${sql.join(
          fromStates.map((state) => sql`${state}`),
          sql`, `,
        )})
        RETURNING id, attempt
      ), released AS (
        DELETE FROM ${taskProplets} WHERE task_id IN (SELECT id FROM changed) RETURNING proplet_id
      ), counted AS (
        UPDATE ${proplets} SET task_count = greatest(task_count - 1, 0)
        WHERE id IN (SELECT proplet_id FROM released)
      ), closed AS (${closeAttempts(sql`changed`, {
        outcome: attemptOutcomeOf(outcome),
        error: outcome.error ?? null,
        at: outcome.finishTime,
      })}
      )
      SELECT changed.id, released.proplet_id FROM changed LEFT JOIN released ON true`);
    if (rows.length === 0) return undefined;
    return rows.flatMap((row) => (row.proplet_id === null ? [] : [row.proplet_id]));
  }

  /**
   * Running → Scheduled again for another run (a new attempt, one more retry spent), releasing its pins and
   * closing its run with the cause; only while it is still that attempt, Running (and held by `holder`, when
   * given). The new attempt, or undefined when the task had moved on.
   */
  async retry(
    id: string,
    attempt: number,
    reason: RetryReason,
    holder?: string,
  ): Promise<{ attempt: number; priority: number } | undefined> {
    const due = new Date(reason.at.getTime() + reason.delayMs);
    const { rows } = await this.db.execute<{ next_attempt: number; priority: number }>(
      withRelease(
        sql`UPDATE tasks SET state = ${TRANSITIONS.retry.to}, attempt = attempt + 1, retries = retries + 1,
              proplet_id = NULL, start_time = NULL, results = NULL, error = ${reason.error},
              scheduled_at = ${due.toISOString()}, updated_at = ${reason.at.toISOString()}
            WHERE id = ${id} AND attempt = ${attempt} AND state = ${TRANSITIONS.retry.from[0]}
              ${holder === undefined ? sql`` : sql`AND proplet_id = ${holder}`}
            RETURNING id, attempt - 1 AS attempt, attempt AS next_attempt, priority`,
        closeAttempts(sql`changed`, { outcome: reason.cause, error: reason.error, at: reason.at }),
      ),
    );
    const [row] = rows;
    return row && { attempt: row.next_attempt, priority: row.priority };
  }

  /** Undoes markDispatched when the start message could not be published, so the job can try again. */
  async revertDispatch(id: string, attempt: number): Promise<void> {
    await this.db.execute(
      withRelease(
        sql`UPDATE tasks SET state = ${TRANSITIONS.dispatch.from[0]}, proplet_id = NULL, start_time = NULL,
              updated_at = now()
            WHERE id = ${id} AND attempt = ${attempt} AND state = ${TRANSITIONS.dispatch.to}
            RETURNING id, attempt`,
        // Nothing went out: the run never was.
        sql`DELETE FROM ${taskAttempts} USING changed
            WHERE task_id = changed.id AND ${taskAttempts.attempt} = changed.attempt AND finished_at IS NULL`,
      ),
    );
  }

  /**
   * Moves the task to a terminal outcome if it is still in one of `fromStates` (and, when given, still held
   * by `holder`), releasing its pin and its proplet's task count, in one statement. Undefined when the
   * condition did not hold: the transition was already made, by this worker earlier or by another one.
   */
  async finish(
    id: string,
    fromStates: readonly TaskState[],
    outcome: Outcome,
    holder?: string,
  ): Promise<FinishedTask | undefined> {
    const keepResults = outcome.results === undefined;
    const rows = await this.finishStatement(fromStates, keepResults, holder !== undefined).rows({
      id,
      state: outcome.state,
      results: keepResults ? undefined : JSON.stringify(outcome.results),
      error: outcome.error ?? null,
      at: outcome.finishTime.toISOString(),
      holder,
      attemptOutcome: attemptOutcomeOf(outcome),
    });
    const [row] = rows;
    return (
      row && {
        id: row.id,
        workflowId: row.workflow_id,
        jobId: row.job_id,
        scheduledAt: row.scheduled_at === null ? null : new Date(row.scheduled_at),
      }
    );
  }

  /** One statement per shape of finish (the states it moves from, whether it keeps results and checks the holder). */
  private finishStatement(
    fromStates: readonly TaskState[],
    keepResults: boolean,
    checksHolder: boolean,
  ): PreparedStatement<FinishedRow> {
    const key = `${fromStates.join('_')}_${keepResults ? 'kept' : 'set'}_${checksHolder ? 'held' : 'any'}`;
    let statement = this.finishStatements.get(key);
    if (!statement) {
      statement = new PreparedStatement(
        this.pool,
        this.named(`task_finish_${key}`),
        finishSql(fromStates, keepResults, checksHolder),
      );
      this.finishStatements.set(key, statement);
    }
    return statement;
  }
}

/** Drizzle wraps the error of pg in its own (cause); a PreparedStatement throws pg's. */
function isForeignKeyViolation(error: unknown, constraint: string): boolean {
  type PgError = { code?: string; constraint?: string };
  const pgError = (error as { cause?: PgError }).cause ?? (error as PgError);
  return pgError.code === '23503' && pgError.constraint === constraint;
}

const placeholder = (key: string) => sql.placeholder(key);

/** Pending or finished → Scheduled, returning what the task was (see schedule). */
function scheduleSql(): SQL {
  return sql`
    WITH before AS (
      SELECT id, state, attempt, retries, results, error, start_time, finish_time, scheduled_at, updated_at
      FROM tasks
      WHERE id = ${placeholder('id')} AND state IN (${sql.join(
        TRANSITIONS.schedule.from.map((state) => sql.raw(String(state))),
        sql`, `,
      )})
      FOR UPDATE
    )
    UPDATE tasks SET state = ${sql.raw(String(TRANSITIONS.schedule.to))}, attempt = tasks.attempt + 1, retries = 0,
      scheduled_at = ${placeholder('at')}::timestamptz, results = NULL, error = NULL, start_time = NULL,
      finish_time = NULL, updated_at = ${placeholder('at')}::timestamptz
    FROM before WHERE tasks.id = before.id
    RETURNING tasks.attempt, before.state, before.attempt AS previous_attempt, before.retries, before.results,
      before.error, before.start_time, before.finish_time, before.scheduled_at, before.updated_at`;
}

/** Scheduled → Running with its pin, its run and its proplet's task count (see markDispatched). */
function markDispatchedSql(): SQL {
  const propletId = placeholder('propletId');
  const now = placeholder('now');
  return sql`
    WITH moved AS (
      UPDATE tasks SET state = ${sql.raw(String(TRANSITIONS.dispatch.to))}, proplet_id = ${propletId},
        start_time = ${now}::timestamptz, updated_at = ${now}::timestamptz
      WHERE id = ${placeholder('id')} AND attempt = ${placeholder('attempt')}::int
        AND state = ${sql.raw(String(TRANSITIONS.dispatch.from[0]))}
      RETURNING id, proplet_id
    ), pinned AS (
      INSERT INTO task_proplets (task_id, proplet_id, created_at)
      SELECT id, ${propletId}::text, ${now}::timestamptz FROM moved
      ON CONFLICT (task_id, proplet_id) DO UPDATE SET created_at = excluded.created_at
    ), opened AS (${openAttempts(sql`moved`, placeholder('attempt'), placeholder('now'))}
    ), counted AS (
      UPDATE proplets SET task_count = task_count + 1
      WHERE id = ${propletId}::text AND EXISTS (SELECT 1 FROM moved)
    )
    SELECT count(*)::int AS moved FROM moved`;
}

/** A run's end, releasing its pin and closing its run (see finish). */
function finishSql(fromStates: readonly TaskState[], keepResults: boolean, checksHolder: boolean): SQL {
  const at = placeholder('at');
  return withRelease(
    sql`UPDATE tasks SET state = ${placeholder('state')}::smallint,
          results = ${keepResults ? sql`results` : sql`${placeholder('results')}::jsonb`},
          error = ${placeholder('error')}::text, finish_time = ${at}::timestamptz, updated_at = ${at}::timestamptz
        WHERE id = ${placeholder('id')} AND state IN (${sql.join(
          fromStates.map((state) => sql.raw(String(state))),
          sql`, `,
        )})
          ${checksHolder ? sql`AND proplet_id = ${placeholder('holder')}::text` : sql``}
        RETURNING id, attempt, workflow_id, job_id, scheduled_at`,
    closeAttempts(sql`changed`, {
      outcome: placeholder('attemptOutcome'),
      error: placeholder('error'),
      at,
    }),
  );
}

/**
 * Runs a statement yielding task ids (an UPDATE … RETURNING id, or a SELECT) and releases the pins of those
 * tasks, decrementing their proplets' task counts (never below 0), in the same statement. `alongside`, if
 * given, is one more statement run with them; it may read `changed`.
 */
function withRelease(change: SQL, alongside?: SQL): SQL {
  return sql`
    WITH changed AS (${change}),
    released AS (
      DELETE FROM ${taskProplets} WHERE task_id IN (SELECT id FROM changed) RETURNING proplet_id
    ),
    counted AS (
      UPDATE ${proplets} SET task_count = greatest(task_count - 1, 0)
      WHERE id IN (SELECT proplet_id FROM released)
    )${alongside === undefined ? sql`` : sql`, alongside AS (${alongside})`}
    SELECT * FROM changed`;
}

function attemptOutcomeOf(outcome: Outcome): AttemptOutcome {
  return (
    outcome.attemptOutcome ??
    (outcome.state === TaskStateValues.Completed ? AttemptOutcome.Completed : AttemptOutcome.Failed)
  );
}
