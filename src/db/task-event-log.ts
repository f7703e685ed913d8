import { sql, type SQL } from 'drizzle-orm';
import type { TaskEvent, TaskEventKind } from '../domain/task-event.ts';
import type { TaskState } from '../domain/task-state.ts';
import type { Database } from './connection.ts';

interface TaskRow extends Record<string, unknown> {
  task_id: string;
  name: string;
  state: number;
  proplet_id: string | null;
  attempt: number;
  error: string | null;
  /** Raw statements through drizzle get timestamps as Postgres writes them, not as Dates. */
  changed_at: string | Date;
}

interface EventRow extends TaskRow {
  id: string;
  kind: string;
  previous_state: number | null;
}

const EVENT_COLUMNS = sql.raw(
  'id, kind, task_id, name, state, previous_state, proplet_id, attempt, error, changed_at',
);

function toEvent(row: EventRow): TaskEvent {
  return {
    // int8 arrives as text; log positions stay far below 2^53.
    id: Number(row.id),
    kind: row.kind as TaskEventKind,
    taskId: row.task_id,
    name: row.name,
    state: row.state as TaskState,
    previousState: row.previous_state as TaskState | null,
    propletId: row.proplet_id,
    attempt: row.attempt,
    error: row.error,
    time: new Date(row.changed_at),
  };
}

const idList = (ids: readonly (number | string)[]): SQL =>
  sql.join(
    ids.map((id) => sql`${id}`),
    sql`, `,
  );

/**
 * The log of task changes written by the trigger of migration 0005, and the leases that switch it on. An
 * api process that streams events holds a lease and reads the log; while no lease is valid nothing is
 * recorded. Times of leases and of recording are the database's clock, the only one the trigger has.
 */
export class TaskEventLog {
  constructor(private readonly db: Database) {}

  /** Records task changes, from every process, until `leaseMs` from now (renew it before then). */
  async watch(watcher: string, leaseMs: number): Promise<void> {
    await this.db.execute(sql`
      INSERT INTO task_event_watchers (watcher, until)
      VALUES (${watcher}, now() + ${leaseMs} * interval '1 millisecond')
      ON CONFLICT (watcher) DO UPDATE SET until = excluded.until`);
  }

  async unwatch(watcher: string): Promise<void> {
    await this.db.execute(sql`DELETE FROM task_event_watchers WHERE watcher = ${watcher}`);
  }

  /** The highest position recorded, 0 when none is. */
  async newestId(): Promise<number> {
    const { rows } = await this.db.execute<{ id: string }>(
      sql`SELECT coalesce(max(id), 0) AS id FROM task_events`,
    );
    return Number(rows[0]?.id ?? 0);
  }

  /** The lowest position still kept, undefined when the log is empty. */
  async oldestId(): Promise<number | undefined> {
    const { rows } = await this.db.execute<{ id: string | null }>(sql`SELECT min(id) AS id FROM task_events`);
    const id = rows[0]?.id;
    return id === null || id === undefined ? undefined : Number(id);
  }

  /** Changes after position `after`, but those in `skip` (already read), in position order. */
  async after(after: number, skip: readonly number[], limit: number): Promise<TaskEvent[]> {
    const { rows } = await this.db.execute<EventRow>(sql`
      SELECT ${EVENT_COLUMNS} FROM task_events
      WHERE id > ${after} ${skip.length > 0 ? sql`AND id NOT IN (${idList(skip)})` : sql``}
      ORDER BY id LIMIT ${limit}`);
    return rows.map(toEvent);
  }

  /** Changes with positions in (after, upTo], in position order: what a resuming client missed. */
  async between(after: number, upTo: number, limit: number): Promise<TaskEvent[]> {
    const { rows } = await this.db.execute<EventRow>(sql`
      SELECT ${EVENT_COLUMNS} FROM task_events WHERE id > ${after} AND id <= ${upTo}
      ORDER BY id LIMIT ${limit}`);
    return rows.map(toEvent);
  }

  /**
   * Forgets changes recorded more than `retentionMs` ago, always a prefix of the positions, so that every
   * position above the oldest one kept is still there. The newest is always kept: an empty log means one
   * that was emptied (a crash of Postgres empties unlogged tables), which readers must notice.
   */
  async prune(retentionMs: number): Promise<number> {
    const { rowCount } = await this.db.execute(sql`
      DELETE FROM task_events WHERE id < coalesce(
        (SELECT min(id) FROM task_events WHERE recorded_at > now() - ${retentionMs} * interval '1 millisecond'),
        (SELECT max(id) FROM task_events))`);
    return rowCount ?? 0;
  }

  /** The tasks as they are now, as snapshot events; absent ids are tasks that do not exist. */
  async snapshot(taskIds: readonly string[]): Promise<TaskEvent[]> {
    if (taskIds.length === 0) return [];
    const { rows } = await this.db.execute<TaskRow>(sql`
      SELECT id AS task_id, name, state, proplet_id, attempt, left(error, 1000) AS error,
        updated_at AS changed_at
      FROM tasks WHERE id IN (${idList(taskIds)})`);
    return rows.map((row) => {
      const { id: _id, ...event } = toEvent({ ...row, id: '0', kind: 'snapshot', previous_state: null });
      return event;
    });
  }
}
