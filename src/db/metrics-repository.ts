import { count, desc, eq, lt, sql } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Database } from './connection.ts';
import { propletMetrics, taskMetrics } from './schema.ts';

export type TaskMetricsRow = Omit<typeof taskMetrics.$inferSelect, 'id'>;
export type PropletMetricsRow = Omit<typeof propletMetrics.$inferSelect, 'id'>;

export interface MetricsPage {
  offset: number;
  limit: number;
}

/** Metrics samples of tasks and proplets: written in batches, read newest first, pruned by age and count. */
export class MetricsRepository {
  constructor(private readonly db: Database) {}

  /** One multi-row insert per table, both or neither, so that a retried batch is not half written twice. */
  async insert(batch: { task: TaskMetricsRow[]; proplet: PropletMetricsRow[] }): Promise<void> {
    if (batch.task.length === 0 && batch.proplet.length === 0) return;
    await this.db.transaction(async (tx) => {
      if (batch.task.length > 0) await tx.insert(taskMetrics).values(batch.task);
      if (batch.proplet.length > 0) await tx.insert(propletMetrics).values(batch.proplet);
    });
  }

  async taskMetrics(
    taskId: string,
    page: MetricsPage,
  ): Promise<{ metrics: TaskMetricsRow[]; total: number }> {
    const filter = eq(taskMetrics.taskId, taskId);
    const rows = await this.db
      .select({
        taskId: taskMetrics.taskId,
        propletId: taskMetrics.propletId,
        metrics: taskMetrics.metrics,
        aggregated: taskMetrics.aggregated,
        timestamp: taskMetrics.timestamp,
      })
      .from(taskMetrics)
      .where(filter)
      .orderBy(desc(taskMetrics.timestamp), desc(taskMetrics.id))
      .offset(page.offset)
      .limit(page.limit);
    const [totalRow] = await this.db.select({ total: count() }).from(taskMetrics).where(filter);
    return { metrics: rows, total: totalRow?.total ?? 0 };
  }

  async propletMetrics(
    propletId: string,
    page: MetricsPage,
  ): Promise<{ metrics: PropletMetricsRow[]; total: number }> {
    const filter = eq(propletMetrics.propletId, propletId);
    const rows = await this.db
      .select({
        propletId: propletMetrics.propletId,
        namespace: propletMetrics.namespace,
        cpuMetrics: propletMetrics.cpuMetrics,
        memoryMetrics: propletMetrics.memoryMetrics,
        timestamp: propletMetrics.timestamp,
      })
      .from(propletMetrics)
      .where(filter)
      .orderBy(desc(propletMetrics.timestamp), desc(propletMetrics.id))
      .offset(page.offset)
      .limit(page.limit);
    const [totalRow] = await this.db.select({ total: count() }).from(propletMetrics).where(filter);
    return { metrics: rows, total: totalRow?.total ?? 0 };
  }

  /** Deletes samples taken before `olderThan`, and those beyond the newest `keepPerOwner` of their owner. */
  async prune(olderThan: Date, keepPerOwner: number): Promise<{ task: number; proplet: number }> {
    const task =
      (await this.deleteOlder(taskMetrics, taskMetrics.timestamp, olderThan)) +
      (await this.deleteExcess(taskMetrics, taskMetrics.taskId, keepPerOwner));
    const proplet =
      (await this.deleteOlder(propletMetrics, propletMetrics.timestamp, olderThan)) +
      (await this.deleteExcess(propletMetrics, propletMetrics.propletId, keepPerOwner));
    return { task, proplet };
  }

  private async deleteOlder(table: PgTable, timestamp: PgColumn, olderThan: Date): Promise<number> {
    const deleted = await this.db.delete(table).where(lt(timestamp, olderThan));
    return deleted.rowCount ?? 0;
  }

  private async deleteExcess(table: PgTable, owner: PgColumn, keep: number): Promise<number> {
    const deleted = await this.db.execute(sql`
      DELETE FROM ${table} WHERE id IN (
        SELECT id FROM (
          SELECT id, row_number() OVER (PARTITION BY ${owner} ORDER BY "timestamp" DESC, id DESC) AS newer
          FROM ${table}
        ) AS ranked
        WHERE newer > ${keep}
      )`);
    return deleted.rowCount ?? 0;
  }
}
