import type { Redis } from 'ioredis';

/** Long enough for any proplet to report a cancelled run; short enough that a lost report is forgotten. */
const MARK_TTL_SECONDS = 600;

/**
 * Runs stopped on a proplet that will still report on them. A stopped run yields one more result from its
 * proplet (its completion if it had finished, otherwise "Task was cancelled or panicked"), and upstream
 * proplets do not say which run a result belongs to. Without this mark, a task stopped and started again on
 * the same proplet would take the old run's report for the new run's. One hash per proplet, so a proplet
 * that restarts (and so will report nothing more) has its marks cleared at once.
 */
export class StoppedRuns {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async mark(taskId: string, propletId: string): Promise<void> {
    const key = this.key(propletId);
    await this.redis.multi().hset(key, taskId, '1').expire(key, MARK_TTL_SECONDS).exec();
  }

  async unmark(taskId: string, propletId: string): Promise<void> {
    await this.redis.hdel(this.key(propletId), taskId);
  }

  /** True (once) when a result from this proplet for this task is the report of a stopped run. */
  async consume(taskId: string, propletId: string): Promise<boolean> {
    return (await this.redis.hdel(this.key(propletId), taskId)) === 1;
  }

  /** The proplet started afresh: it will report on none of its earlier runs. */
  async forgetProplet(propletId: string): Promise<void> {
    await this.redis.del(this.key(propletId));
  }

  private key(propletId: string): string {
    return `${this.prefix}:stopped-runs:${propletId}`;
  }
}
