import type { Redis } from 'ioredis';
import { MARK_TTL_MS, type StoppedRuns } from '../coordination/stopped-runs.ts';

/** Stopped-run marks in Redis: one hash per proplet, expiring as a whole. */
export class RedisStoppedRuns implements StoppedRuns {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async mark(taskId: string, propletId: string): Promise<void> {
    const key = this.key(propletId);
    await this.redis.multi().hset(key, taskId, '1').pexpire(key, MARK_TTL_MS).exec();
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
