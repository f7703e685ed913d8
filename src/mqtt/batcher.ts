import type { Logger } from '../observability/logger.ts';

const MAX_RETRY_DELAY_MS = 2_000;

export interface BatcherOptions<T> {
  /** Sends one batch on; rejects when it could not (the batch is then kept and sent again). */
  flush: (items: T[]) => Promise<void>;
  maxBatch: number;
  maxDelayMs: number;
  /** Items kept while flushing fails; the oldest go first, as newer samples of the same source supersede them. */
  maxBuffered: number;
  logger: Logger;
  /** What the items are, for the logs ("heartbeats", "metrics samples"). */
  what: string;
}

/**
 * Gathers periodic soft-state messages (heartbeats, metrics samples) into batches, so a fleet sending 1,000
 * a second costs a few queue jobs a second instead of a thousand. Each source sends again within its
 * interval, so a batch lost with a crashing ingress costs nothing, and they are acknowledged to the broker
 * before being flushed.
 */
export class Batcher<T> {
  private buffer: T[] = [];
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private failures = 0;
  private closed = false;

  constructor(private readonly options: BatcherOptions<T>) {}

  add(item: T): void {
    this.buffer.push(item);
    if (this.buffer.length > this.options.maxBuffered) {
      const dropped = this.buffer.length - this.options.maxBuffered;
      this.buffer.splice(0, dropped);
      this.options.logger.warn({ dropped }, `${this.options.what} buffer full: oldest dropped`);
    }
    if (this.buffer.length >= this.options.maxBatch) this.kick(0);
    else this.kick(this.options.maxDelayMs);
  }

  /** Sends what is buffered, once; used at shutdown, when what cannot be sent is not worth waiting for. */
  async drain(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flushing;
    try {
      while (this.buffer.length > 0) await this.flushOnce();
    } catch (error) {
      this.options.logger.warn(
        { err: error, dropped: this.buffer.length },
        `${this.options.what} not queued at shutdown`,
      );
      this.buffer = [];
    }
  }

  private kick(delayMs: number): void {
    if (this.flushing || this.closed) return;
    if (this.timer && delayMs > 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flushing = this.flushOnce()
        .then(() => {
          this.failures = 0;
        })
        .catch((error: unknown) => {
          this.failures++;
          this.options.logger.warn(
            { err: error, buffered: this.buffer.length },
            `could not queue ${this.options.what}; retrying`,
          );
        })
        .finally(() => {
          this.flushing = undefined;
          if (this.buffer.length === 0) return;
          const full = this.buffer.length >= this.options.maxBatch && this.failures === 0;
          this.kick(full ? 0 : Math.min(this.options.maxDelayMs * 2 ** this.failures, MAX_RETRY_DELAY_MS));
        });
    }, delayMs);
  }

  private async flushOnce(): Promise<void> {
    const batch = this.buffer.splice(0, this.options.maxBatch);
    if (batch.length === 0) return;
    try {
      await this.options.flush(batch);
    } catch (error) {
      this.buffer.unshift(...batch);
      throw error;
    }
  }
}
