import type { Redis } from 'ioredis';

/** Long enough for any proplet to report a cancelled run; short enough that a lost report is forgotten. */
const MARK_TTL_SECONDS = 600;

/**
 * Runs stopped on a proplet that will still report on them. A stopped run yields exactly one more result
 * from its proplet (its completion if it had finished, otherwise "Task was cancelled or panicked"), and
 * upstream proplets do not say which run a result belongs to. Without this mark, a task stopped and started
 * again on the same proplet would take the old run's report for the new run's.
 */
export class StoppedRuns {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async mark(taskId: string, propletId: string): Promise<void> {
    await this.redis.set(this.key(taskId, propletId), '1', 'EX', MARK_TTL_SECONDS);
  }

  async unmark(taskId: string, propletId: string): Promise<void> {
    await this.redis.del(this.key(taskId, propletId));
  }

  /** True (once) when a result from this proplet for this task is the report of a stopped run. */
  async consume(taskId: string, propletId: string): Promise<boolean> {
    return (await this.redis.del(this.key(taskId, propletId))) === 1;
  }

  private key(taskId: string, propletId: string): string {
    return `${this.prefix}:stopped-run:${taskId}:${propletId}`;
  }
}
