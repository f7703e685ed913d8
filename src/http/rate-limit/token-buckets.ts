/** The answer to one request: go on, or wait this long for the next token. */
export type Take = { allowed: true } | { allowed: false; retryAfterMs: number };

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date. */
  at: number;
}

export interface TokenBucketOptions {
  /** Tokens per period, and the most a bucket holds (the largest burst). */
  limit: number;
  periodMs: number;
  /**
   * The most clients tracked at once. Beyond it the least recently seen is forgotten (it starts again with a
   * full bucket): memory stays bounded however many addresses a client uses.
   */
  maxBuckets?: number;
  /** Milliseconds on a clock that never goes back; tests pass their own. */
  now?: () => number;
}

const DEFAULT_MAX_BUCKETS = 100_000;

/**
 * One token bucket per client key: each holds up to `limit` tokens, refilled continuously at `limit` per
 * `periodMs`, and a request takes one. A bucket that has refilled completely is the same as no bucket, so
 * those are dropped at most once a period, which keeps only clients active in the last period in memory.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly limit: number;
  private readonly periodMs: number;
  /** Tokens added per millisecond. */
  private readonly perMs: number;
  private readonly maxBuckets: number;
  private readonly now: () => number;
  private lastSweep: number;

  constructor(options: TokenBucketOptions) {
    this.limit = options.limit;
    this.periodMs = options.periodMs;
    this.perMs = options.limit / options.periodMs;
    this.maxBuckets = options.maxBuckets ?? DEFAULT_MAX_BUCKETS;
    this.now = options.now ?? (() => performance.now());
    this.lastSweep = this.now();
  }

  take(key: string): Take {
    const now = this.now();
    this.sweep(now);
    const bucket = this.refilled(key, now);
    // Delete and set again: the map's order is then the order in which clients were last seen.
    this.buckets.delete(key);
    if (bucket.tokens >= 1) {
      this.buckets.set(key, { tokens: bucket.tokens - 1, at: now });
      this.evictBeyondBound();
      return { allowed: true };
    }
    this.buckets.set(key, bucket);
    return { allowed: false, retryAfterMs: (1 - bucket.tokens) / this.perMs };
  }

  /** Clients tracked now (for tests of the bound). */
  get size(): number {
    return this.buckets.size;
  }

  private refilled(key: string, now: number): Bucket {
    const bucket = this.buckets.get(key);
    if (!bucket) return { tokens: this.limit, at: now };
    return { tokens: Math.min(this.limit, bucket.tokens + (now - bucket.at) * this.perMs), at: now };
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < this.periodMs) return;
    this.lastSweep = now;
    for (const [key, bucket] of this.buckets)
      if (bucket.tokens + (now - bucket.at) * this.perMs >= this.limit) this.buckets.delete(key);
  }

  private evictBeyondBound(): void {
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= this.maxBuckets) return;
      this.buckets.delete(key);
    }
  }
}
