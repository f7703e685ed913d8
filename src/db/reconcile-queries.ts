import { sql } from 'drizzle-orm';
import { TaskState } from '../domain/task-state.ts';
import type { Database } from './connection.ts';

/** The reads of the reconciler: tasks whose state may disagree with the queues or with liveness. */
export class ReconcileQueries {
  constructor(private readonly db: Database) {}

  /** Scheduled since before `cutoff` (for a retry: due since then), oldest first. */
  async scheduledBefore(
    cutoff: Date,
    limit: number,
  ): Promise<Array<{ id: string; attempt: number; priority: number; scheduledAt: Date }>> {
    const { rows } = await this.db.execute<{
      id: string;
      attempt: number;
      priority: number;
      scheduled_at: string | Date;
    }>(sql`SELECT id, attempt, priority, scheduled_at FROM tasks
           WHERE state = ${TaskState.Scheduled} AND scheduled_at < ${cutoff.toISOString()}::timestamptz
           ORDER BY scheduled_at LIMIT ${limit}`);
    return rows.map((row) => ({
      id: row.id,
      attempt: row.attempt,
      priority: row.priority,
      scheduledAt: new Date(row.scheduled_at),
    }));
  }

  /** Whether the task is still Scheduled for this attempt (not dispatched, retried or ended since). */
  async isScheduled(id: string, attempt: number): Promise<boolean> {
    const { rows } = await this.db.execute<{ id: string }>(
      sql`SELECT id FROM tasks WHERE id = ${id} AND state = ${TaskState.Scheduled} AND attempt = ${attempt}`,
    );
    return rows.length > 0;
  }

  /** Running (no broadcast) since before `cutoff` on a proplet not in `alive`. */
  async runningElsewhere(
    alive: readonly string[],
    cutoff: Date,
    limit: number,
  ): Promise<Array<{ id: string; attempt: number; propletId: string }>> {
    const { rows } = await this.db.execute<{ id: string; attempt: number; proplet_id: string }>(
      sql`SELECT id, attempt, proplet_id FROM tasks
          WHERE state = ${TaskState.Running} AND NOT broadcast
            AND start_time < ${cutoff.toISOString()}::timestamptz
            AND NOT (proplet_id = ANY(${textArray(alive)}))
          LIMIT ${limit}`,
    );
    return rows.map((row) => ({ id: row.id, attempt: row.attempt, propletId: row.proplet_id }));
  }

  /** Shares of running broadcast tasks, dispatched before `cutoff`, held by proplets not in `alive`. */
  async broadcastSharesElsewhere(
    alive: readonly string[],
    cutoff: Date,
    limit: number,
  ): Promise<Array<{ taskId: string; propletId: string }>> {
    const { rows } = await this.db.execute<{ task_id: string; proplet_id: string }>(
      sql`SELECT pins.task_id, pins.proplet_id FROM task_proplets pins JOIN tasks ON tasks.id = pins.task_id
          WHERE tasks.broadcast AND tasks.state = ${TaskState.Running}
            AND pins.created_at < ${cutoff.toISOString()}::timestamptz
            AND NOT (pins.proplet_id = ANY(${textArray(alive)}))
          LIMIT ${limit}`,
    );
    return rows.map((row) => ({ taskId: row.task_id, propletId: row.proplet_id }));
  }

  /**
   * Running past their time limit (the task's timeout, else `defaultLimitMs` for all but daemons) by more
   * than `graceMs`: their expiry job was lost.
   */
  async overdue(
    now: Date,
    graceMs: number,
    defaultLimitMs: number | undefined,
    limit: number,
  ): Promise<Array<{ id: string; attempt: number; limitMs: number }>> {
    const fallback = defaultLimitMs === undefined ? sql`NULL::bigint` : sql`${defaultLimitMs}::bigint`;
    const { rows } = await this.db.execute<{ id: string; attempt: number; limit_ms: string | number }>(
      sql`SELECT id, attempt, limit_ms FROM (
            SELECT id, attempt, start_time,
              coalesce(timeout_seconds::bigint * 1000, CASE WHEN daemon THEN NULL ELSE ${fallback} END) AS limit_ms
            FROM tasks WHERE state = ${TaskState.Running} AND NOT latent
          ) running
          WHERE limit_ms IS NOT NULL
            AND start_time + (limit_ms + ${graceMs}) * interval '1 millisecond' < ${now.toISOString()}::timestamptz
          LIMIT ${limit}`,
    );
    return rows.map((row) => ({ id: row.id, attempt: row.attempt, limitMs: Number(row.limit_ms) }));
  }
}

/** One parameter however many values: a proplet fleet can outnumber Postgres's limit on parameters. */
function textArray(values: readonly string[]) {
  return sql`ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify(values)}::jsonb))`;
}
