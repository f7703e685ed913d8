import { sql } from 'drizzle-orm';
import { MARK_TTL_MS, type StoppedRuns } from '../coordination/stopped-runs.ts';
import type { Database } from './connection.ts';
import { stoppedRuns } from './schema.ts';

/**
 * Stopped-run marks in Postgres, for deployments without Redis: one row per mark, expiring on its own (the
 * Redis store expires a proplet's marks together, so there a new mark also extends the proplet's older
 * ones). Expiry is judged by the process clock, as the mark's own expiry was set by it. Every operation is
 * one statement; consume is a DELETE ... RETURNING, so of concurrent consumers exactly one finds the row.
 */
export class PostgresStoppedRuns implements StoppedRuns {
  constructor(
    private readonly db: Database,
    private readonly ttlMs = MARK_TTL_MS,
  ) {}

  /** Also drops lapsed marks (of any proplet), which nothing else would delete. */
  async mark(taskId: string, propletId: string): Promise<void> {
    const now = Date.now();
    await this.db.execute(sql`
      WITH lapsed AS (
        DELETE FROM ${stoppedRuns}
        WHERE expires_at_ms <= ${now}::bigint AND NOT (proplet_id = ${propletId} AND task_id = ${taskId})
      )
      INSERT INTO ${stoppedRuns} (proplet_id, task_id, expires_at_ms)
      VALUES (${propletId}, ${taskId}, ${now + this.ttlMs}::bigint)
      ON CONFLICT (proplet_id, task_id) DO UPDATE SET expires_at_ms = excluded.expires_at_ms`);
  }

  async unmark(taskId: string, propletId: string): Promise<void> {
    await this.db.execute(
      sql`DELETE FROM ${stoppedRuns} WHERE proplet_id = ${propletId} AND task_id = ${taskId}`,
    );
  }

  /** True (once) when a result from this proplet for this task is the report of a stopped run. */
  async consume(taskId: string, propletId: string): Promise<boolean> {
    const { rows } = await this.db.execute<{ live: boolean }>(sql`
      DELETE FROM ${stoppedRuns} WHERE proplet_id = ${propletId} AND task_id = ${taskId}
      RETURNING expires_at_ms > ${Date.now()}::bigint AS live`);
    return rows[0]?.live === true;
  }

  /** The proplet started afresh: it will report on none of its earlier runs. */
  async forgetProplet(propletId: string): Promise<void> {
    await this.db.execute(sql`DELETE FROM ${stoppedRuns} WHERE proplet_id = ${propletId}`);
  }
}
