import { getTableColumns, sql } from 'drizzle-orm';
import { redactFile } from '../domain/file-redaction.ts';
import type { NewTask, Task } from '../domain/task.ts';
import { TaskState } from '../domain/task-state.ts';
import type { Database } from './connection.ts';
import { tasks } from './schema.ts';

type TaskRow = typeof tasks.$inferInsert;

const COLUMNS = getTableColumns(tasks);

/** The attempt a task's first start gives it, as TaskRepository.schedule does (0 + 1). */
const FIRST_ATTEMPT = 1;

/**
 * Many tasks written at once (POST /tasks/batch): one INSERT of every row, where creating and starting
 * them one by one costs three statements and two commits each. The rows travel as one JSON parameter that
 * Postgres expands (jsonb_populate_recordset): a multi-row VALUES list through drizzle would carry ~30
 * parameters a row, and building that statement alone took longer than running it (≈200 ms for 1,000).
 *
 * A row is what TaskRepository.insert writes, and to start, what TaskRepository.schedule then makes of it
 * (Scheduled, attempt 1, scheduled_at), so nothing downstream can tell a batch's tasks from single ones;
 * except in the event log (GET /events), where a task created started shows once, created Scheduled,
 * rather than created Pending and then changed.
 */
export class TaskBatchRepository {
  constructor(private readonly db: Database) {}

  /**
   * Inserts the tasks, all or none, created at `now` and with `schedule` Scheduled at `now`. Returned in the
   * order given, as stored (file redacted), without reading them back.
   */
  async insert(
    newTasks: ReadonlyArray<NewTask & { id: string }>,
    { now, schedule }: { now: Date; schedule: boolean },
  ): Promise<Task[]> {
    if (newTasks.length === 0) return [];
    // Each a microsecond after the one before, the last one just before `now`: GET /tasks (newest first)
    // lists them as if posted one by one, and none was created after it was scheduled.
    const created = newTasks.map((_, index) => microsecondsBefore(now, newTasks.length - index));
    const rows = newTasks.map((task, index): Required<TaskRow> => ({
      ...asTextParameters(task),
      file: task.file ? Buffer.from(task.file) : null,
      state: schedule ? TaskState.Scheduled : TaskState.Pending,
      attempt: schedule ? FIRST_ATTEMPT : 0,
      retries: 0,
      propletId: null,
      results: null,
      error: null,
      nextRun: null,
      startTime: null,
      finishTime: null,
      scheduledAt: schedule ? now : null,
      createdAt: created[index]!.date,
      updatedAt: schedule ? now : created[index]!.date,
    }));
    // Every column, named: the type above makes a column added to the table a compile error here.
    const names = Object.keys(COLUMNS) as Array<keyof typeof COLUMNS>;
    const columnList = sql.raw(names.map((name) => `"${COLUMNS[name].name}"`).join(', '));
    const records = rows.map((row, index) => {
      const record: Record<string, unknown> = {};
      for (const name of names) record[COLUMNS[name].name] = encode(row[name]);
      // With the microseconds a Date cannot hold.
      record[COLUMNS.createdAt.name] = created[index]!.text;
      if (!schedule) record[COLUMNS.updatedAt.name] = created[index]!.text;
      return record;
    });
    await this.db.execute(sql`
      INSERT INTO ${tasks} (${columnList})
      SELECT ${columnList} FROM jsonb_populate_recordset(NULL::${tasks}, ${JSON.stringify(records)}::jsonb)`);
    return rows.map((row) => ({
      ...row,
      state: row.state as TaskState,
      file: null,
      fileSize: row.file?.length ?? 0,
      filePreview: redactFile(row.file),
    }));
  }

  /**
   * Deletes those of the tasks still Scheduled on their first attempt, when their starts could not be
   * queued: none has begun a run. A task whose start the queue took before it failed, and that a scheduler
   * dispatched meanwhile, is left to run. Returns how many were deleted.
   */
  async deleteUnstarted(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const { rowCount } = await this.db.execute(sql`
      DELETE FROM ${tasks}
      WHERE ${tasks.id} = ANY(${sql.param([...ids])}::uuid[])
        AND ${tasks.state} = ${TaskState.Scheduled} AND ${tasks.attempt} = ${FIRST_ATTEMPT}`);
    return rowCount ?? 0;
  }
}

const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * The text fields as Postgres stores them when they are sent as parameters (TaskRepository.insert): a lone
 * UTF-16 surrogate becomes U+FFFD on the way to UTF-8, where in JSON its escape would fail the whole batch.
 */
function asTextParameters<T extends object>(task: T): T {
  const entries = Object.entries(task);
  if (!entries.some(([, value]) => typeof value === 'string' && SURROGATE.test(value))) return task;
  return Object.fromEntries(
    entries.map(([key, value]) => [
      key,
      typeof value === 'string' ? Buffer.from(value, 'utf8').toString('utf8') : value,
    ]),
  ) as T;
}

/** A column value as jsonb_populate_recordset reads it: bytea in hex, times as ISO text, JSON as is. */
function encode(value: unknown): unknown {
  if (value instanceof Uint8Array) return `\\x${Buffer.from(value).toString('hex')}`;
  if (value instanceof Date) return value.toISOString();
  return value;
}

/** `micros` microseconds before `at`: as a Date (to the millisecond) and as text Postgres reads exactly. */
function microsecondsBefore(at: Date, micros: number): { date: Date; text: string } {
  const total = at.getTime() * 1_000 - micros;
  const date = new Date(Math.floor(total / 1_000));
  const fraction = String(total - date.getTime() * 1_000).padStart(3, '0');
  return { date, text: `${date.toISOString().slice(0, -1)}${fraction}Z` };
}
