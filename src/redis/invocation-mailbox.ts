import type { Redis } from 'ioredis';
import {
  ANSWER_TTL_MS,
  invocationOutcome,
  type InvocationMailbox,
  type InvocationOutcome,
} from '../coordination/invocation-mailbox.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { PendingWaits } from '../coordination/pending-waits.ts';

/** How long a wait that timed out still looks for an answer stored meanwhile. */
const LAST_LOOK_MS = 250;

/**
 * Invocation answers in Redis: each is stored under a short-lived key and published on one channel. A
 * process subscribes once, on one connection of its own, and hands each message to the wait for its
 * invocation id; a waiter also reads the key after subscribing, so an answer published before it listened
 * is not lost.
 */
export class RedisInvocationMailbox implements InvocationMailbox {
  private readonly waits = new PendingWaits();
  private subscriber?: Redis;
  private subscribing?: Promise<void>;
  private closed = false;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlMs = ANSWER_TTL_MS,
  ) {}

  async deliver(invocationId: string, outcome: InvocationOutcome): Promise<void> {
    const stored = JSON.stringify(outcome);
    await this.redis
      .multi()
      .set(this.key(invocationId), stored, 'PX', this.ttlMs)
      .publish(this.channel, JSON.stringify({ invocationId, outcome }))
      .exec();
  }

  async wait(
    invocationId: string,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<InvocationOutcome | undefined> {
    if (this.closed) return undefined;
    // The wait, and its deadline, start first: with Redis away, subscribing would otherwise hang past it.
    const answer = this.waits.add(invocationId, timeoutMs, signal);
    void this.subscribe()
      .then(() => this.takeStored(invocationId))
      .catch(() => undefined);
    let outcome = await answer;
    if (!outcome && !this.closed && !signal?.aborted) {
      // Published while the subscriber was reconnecting: the key still holds it.
      outcome = await Promise.race([
        this.readStored(invocationId).catch(() => undefined),
        sleep(LAST_LOOK_MS).then(() => undefined),
      ]);
    }
    // Taken: the key has served its purpose.
    if (outcome) await this.redis.del(this.key(invocationId)).catch(() => undefined);
    return outcome;
  }

  /** Settles the waits for an answer stored before they listened. */
  private async takeStored(invocationId: string): Promise<void> {
    const stored = await this.readStored(invocationId);
    if (stored) this.waits.settle(invocationId, stored);
  }

  private async readStored(invocationId: string): Promise<InvocationOutcome | undefined> {
    const stored = await this.redis.get(this.key(invocationId));
    if (stored === null) return undefined;
    const parsed = invocationOutcome.safeParse(JSON.parse(stored));
    return parsed.success ? parsed.data : undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.waits.endAll();
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    if (subscriber) await subscriber.quit().catch(() => subscriber.disconnect());
  }

  private subscribe(): Promise<void> {
    this.subscribing ??= (async () => {
      // A subscribed connection can run no other command: this one only listens.
      const subscriber = this.redis.duplicate();
      subscriber.on('error', () => undefined);
      subscriber.on('message', (_channel: string, message: string) => this.onMessage(message));
      try {
        await subscriber.subscribe(this.channel);
      } catch (error) {
        subscriber.disconnect();
        this.subscribing = undefined;
        throw error;
      }
      // Closed while subscribing: nobody will close this connection later.
      if (this.closed) await subscriber.quit().catch(() => subscriber.disconnect());
      else this.subscriber = subscriber;
    })();
    return this.subscribing;
  }

  private onMessage(message: string): void {
    let json: unknown;
    try {
      json = JSON.parse(message);
    } catch {
      return;
    }
    const { invocationId, outcome } = (json ?? {}) as { invocationId?: unknown; outcome?: unknown };
    if (typeof invocationId !== 'string' || !this.waits.has(invocationId)) return;
    const parsed = invocationOutcome.safeParse(outcome);
    if (parsed.success) this.waits.settle(invocationId, parsed.data);
  }

  private get channel(): string {
    return `${this.prefix}:invocations`;
  }

  private key(invocationId: string): string {
    return `${this.prefix}:invocation:${invocationId}`;
  }
}
