import { and, count, desc, eq, getTableColumns, inArray, sql } from 'drizzle-orm';
import { FILE_HEAD_BYTES, FILE_TAIL_BYTES, redactFromPreview } from '../domain/file-redaction.ts';
import type { NewTask, Task } from '../domain/task.ts';
import { TaskState as TaskStateValues, TRANSITIONS, type TaskState } from '../domain/task-state.ts';
import type { Database } from './connection.ts';
import { proplets, taskProplets, tasks } from './schema.ts';

type TaskRow = typeof tasks.$inferSelect;

function toTask(row: Omit<TaskRow, 'scheduledAt'> & { scheduledAt?: Date | null }): Task {
  const { scheduledAt: _scheduledAt, ...rest } = row;
  return { ...rest, state: row.state as TaskState };
}

/** Fields a finished run writes. */
export interface Outcome {
  state: TaskState;
  results?: unknown;
  error?: string | null;
  finishTime: Date;
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
}

const { file: _file, ...columnsWithoutFile } = getTableColumns(tasks);

export class TaskRepository {
  constructor(private readonly db: Database) {}

  async insert(task: NewTask & { id: string }): Promise<Task> {
    const [row] = await this.db
      .insert(tasks)
      .values({ ...task, file: task.file ? Buffer.from(task.file) : null })
      .returning();
    return toTask(row!);
  }

  async findById(id: string): Promise<Task | undefined> {
    const [row] = await this.db.select().from(tasks).where(eq(tasks.id, id));
    return row ? toTask(row) : undefined;
  }

  /** Newest first. Reads only the ends of each Wasm file, enough to show it redacted. */
  async list(page: {
    offset: number;
    limit: number;
    /** Only tasks whose metadata contains this object (JSON containment, served by a GIN index). */
    metadata?: Record<string, unknown>;
  }): Promise<{ tasks: Task[]; total: number }> {
    const filter = page.metadata
      ? sql`${tasks.metadata} @> ${JSON.stringify(page.metadata)}::jsonb`
      : undefined;
    const fileLength = sql<number>`coalesce(octet_length(${tasks.file}), 0)`;
    const rows = await this.db
      .select({
        ...columnsWithoutFile,
        fileLength,
        fileHead: sql<Buffer | null>`substring(${tasks.file} from 1 for ${FILE_HEAD_BYTES})`,
        // From the start of the last base64 groups, so the tail encodes exactly like the end of the whole file.
        fileTail: sql<Buffer | null>`substring(${tasks.file} from (3 * greatest(ceil(octet_length(${tasks.file}) / 3.0)::int - ${FILE_TAIL_BYTES / 3}, 0)) + 1)`,
      })
      .from(tasks)
      .where(filter)
      .orderBy(desc(tasks.createdAt), tasks.id)
      .offset(page.offset)
      .limit(page.limit);
    const [totalRow] = await this.db.select({ total: count() }).from(tasks).where(filter);
    return {
      total: totalRow?.total ?? 0,
      tasks: rows.map(({ fileLength: length, fileHead, fileTail, ...row }) => ({
        ...toTask({ ...row, file: null }),
        filePreview: redactFromPreview(
          Number(length),
          fileHead ?? Buffer.alloc(0),
          fileTail ?? Buffer.alloc(0),
        ),
      })),
    };
  }

  /** Applies the patch unless the task is in one of `lockedStates`; undefined when the task does not exist. */
  async update(
    id: string,
    patch: TaskPatch,
    lockedStates: readonly TaskState[],
  ): Promise<{ task: Task } | { lockedIn: TaskState } | undefined> {
    return this.db.transaction(async (tx) => {
      const [current] = await tx
        .select({ state: tasks.state })
        .from(tasks)
        .where(eq(tasks.id, id))
        .for('update');
      if (!current) return undefined;
      if (lockedStates.includes(current.state as TaskState)) return { lockedIn: current.state as TaskState };
      const [row] = await tx
        .update(tasks)
        .set({
          ...patch,
          file: patch.file ? Buffer.from(patch.file) : undefined,
          updatedAt: new Date(),
        })
        .where(eq(tasks.id, id))
        .returning();
      return { task: toTask(row!) };
    });
  }

  /** Deletes the task and releases its proplet; returns what it was, for the caller to clean up after it. */
  async delete(id: string): Promise<Task | undefined> {
    return this.db.transaction(async (tx) => {
      await this.releasePin(tx, id);
      const [row] = await tx.delete(tasks).where(eq(tasks.id, id)).returning();
      return row ? toTask(row) : undefined;
    });
  }

  /** Pending or finished → Scheduled with a new attempt number; undefined if the task was not startable. */
  async schedule(id: string, now: Date): Promise<Task | undefined> {
    const [row] = await this.db
      .update(tasks)
      .set({
        state: TRANSITIONS.schedule.to,
        attempt: sql`${tasks.attempt} + 1`,
        scheduledAt: now,
        results: null,
        error: null,
        startTime: null,
        finishTime: null,
        updatedAt: now,
      })
      .where(and(eq(tasks.id, id), inArray(tasks.state, [...TRANSITIONS.schedule.from])))
      .returning();
    return row ? toTask(row) : undefined;
  }

  /** Scheduled → Pending again, when the start could not be queued; the client may simply start again. */
  async unschedule(id: string, attempt: number): Promise<void> {
    await this.db
      .update(tasks)
      .set({ state: TaskStateValues.Pending, scheduledAt: null, updatedAt: new Date() })
      .where(and(eq(tasks.id, id), eq(tasks.attempt, attempt), eq(tasks.state, TRANSITIONS.schedule.to)));
  }

  /** Scheduled → Running on `propletId`: the pin and the proplet's task count change in the same transaction. */
  async markDispatched(id: string, attempt: number, propletId: string, now: Date): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const updated = await tx
        .update(tasks)
        .set({ state: TRANSITIONS.dispatch.to, propletId, startTime: now, updatedAt: now })
        .where(
          and(
            eq(tasks.id, id),
            eq(tasks.attempt, attempt),
            inArray(tasks.state, [...TRANSITIONS.dispatch.from]),
          ),
        )
        .returning({ id: tasks.id });
      if (updated.length === 0) return false;
      await tx
        .insert(taskProplets)
        .values({ taskId: id, propletId, createdAt: now })
        .onConflictDoUpdate({ target: taskProplets.taskId, set: { propletId, createdAt: now } });
      await tx
        .update(proplets)
        .set({ taskCount: sql`${proplets.taskCount} + 1` })
        .where(eq(proplets.id, propletId));
      return true;
    });
  }

  /** Undoes markDispatched when the start message could not be published, so the job can try again. */
  async revertDispatch(id: string, attempt: number): Promise<void> {
    await this.db.transaction(async (tx) => {
      const reverted = await tx
        .update(tasks)
        .set({ state: TRANSITIONS.dispatch.from[0], propletId: null, startTime: null, updatedAt: new Date() })
        .where(and(eq(tasks.id, id), eq(tasks.attempt, attempt), eq(tasks.state, TRANSITIONS.dispatch.to)))
        .returning({ id: tasks.id });
      if (reverted.length === 0) return;
      await this.releasePin(tx, id);
    });
  }

  /**
   * Moves the task to a terminal outcome if it is still in one of `fromStates` (and, when given, still held
   * by `holder`), releasing its pin and its proplet's task count. Undefined when the condition did not hold:
   * the transition was already made, by this worker earlier or by another one.
   */
  async finish(
    id: string,
    fromStates: readonly TaskState[],
    outcome: Outcome,
    holder?: string,
  ): Promise<Task | undefined> {
    return this.db.transaction(async (tx) => {
      const conditions = [eq(tasks.id, id), inArray(tasks.state, [...fromStates])];
      if (holder !== undefined) conditions.push(eq(tasks.propletId, holder));
      const [row] = await tx
        .update(tasks)
        .set({
          state: outcome.state,
          results: outcome.results,
          error: outcome.error,
          finishTime: outcome.finishTime,
          updatedAt: outcome.finishTime,
        })
        .where(and(...conditions))
        .returning();
      if (!row) return undefined;
      await this.releasePin(tx, id);
      return toTask(row);
    });
  }

  private async releasePin(tx: Pick<Database, 'delete' | 'update'>, taskId: string): Promise<void> {
    const released = await tx
      .delete(taskProplets)
      .where(eq(taskProplets.taskId, taskId))
      .returning({ propletId: taskProplets.propletId });
    for (const { propletId } of released) {
      await tx
        .update(proplets)
        .set({ taskCount: sql`greatest(${proplets.taskCount} - 1, 0)` })
        .where(eq(proplets.id, propletId));
    }
  }
}
