import { setTimeout as sleep } from 'node:timers/promises';
import type { TaskEventLog } from '../db/task-event-log.ts';
import type { TaskEvent } from '../domain/task-event.ts';
import type { Logger } from '../observability/logger.ts';

export interface TaskEventListener {
  event(event: TaskEvent): void;
  /** Changes may have gone unrecorded (the lease lapsed, the log was emptied): re-read what you follow. */
  resync(reason: string): void;
}

export interface TaskEventFeedOptions {
  /** Names this process's lease; unique per process. */
  watcherId: string;
  /** How often the log is read while someone listens. */
  pollMs: number;
  /** How long a lease lasts; it is renewed every quarter of it. */
  leaseMs: number;
  /** How long recorded changes are kept for clients that resume. */
  retentionMs: number;
  /** How long the feed keeps recording after its last listener left, so a client reconnecting resumes. */
  idleMs: number;
  logger: Logger;
}

/** Changes read per query; a full batch is followed by the next at once. */
const BATCH = 500;
/**
 * A position missing below ones already read belongs to a transaction still committing, or to one that
 * rolled back. It is waited for this long, then given up on (transactions here take milliseconds).
 */
const GAP_WAIT_MS = 5_000;
/**
 * After a fresh lease, a transaction that looked for leases just before it may still commit a change that
 * was not recorded; the feed starts reading once such transactions are over.
 */
const LEASE_SETTLE_MS = 250;
const PRUNE_EVERY_MS = 30_000;

/**
 * Task changes from every manager process, read from the log the tasks trigger writes (TaskEventLog)
 * while this process has listeners, and handed to them in position order. Holding a lease is what makes
 * the trigger record; when no process holds one, recording costs nothing but a look at the lease table.
 */
export class TaskEventFeed {
  private readonly listeners = new Set<TaskEventListener>();
  private starting?: Promise<void>;
  private running = false;
  private timer?: NodeJS.Timeout;
  private idleTimer?: NodeJS.Timeout;
  private tick?: Promise<void>;
  private stopping?: Promise<void>;
  /** Every position up to here was handed on or given up on. */
  private cursor = 0;
  /** Positions above the cursor already handed on. */
  private readonly delivered = new Set<number>();
  private gapSince?: number;
  private highest = 0;
  private start = 0;
  private leaseUntil = 0;
  private nextRenew = 0;
  private nextPrune = 0;

  constructor(
    private readonly log: TaskEventLog,
    private readonly options: TaskEventFeedOptions,
  ) {}

  /** The highest position handed on: a client that connects now gets the changes after it. */
  get position(): number {
    return this.highest;
  }

  /** The log is complete, for this feed, from this position on: a client may resume from here or later. */
  get periodStart(): number {
    return this.start;
  }

  get listening(): boolean {
    return this.running;
  }

  /** Starts recording and reading if this is the first listener; resolves once changes flow to it. */
  async subscribe(listener: TaskEventListener): Promise<() => void> {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (!this.running) {
      this.starting ??= this.begin().finally(() => (this.starting = undefined));
      await this.starting;
    }
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.running) {
        clearTimeout(this.idleTimer);
        this.idleTimer = setTimeout(() => {
          if (this.listeners.size === 0) void this.stop();
        }, this.options.idleMs);
        this.idleTimer.unref();
      }
    };
  }

  /** Changes kept in the log with positions in (after, upTo], for a client that resumes. */
  replay(after: number, upTo: number, limit: number): Promise<TaskEvent[]> {
    return this.log.between(after, upTo, limit);
  }

  /** The lowest position kept, or undefined when none is. */
  oldestKept(): Promise<number | undefined> {
    return this.log.oldestId();
  }

  /** The tasks as they are now. */
  snapshot(taskIds: readonly string[]): Promise<TaskEvent[]> {
    return this.log.snapshot(taskIds);
  }

  /** Stops reading and gives up the lease; the next subscriber starts again. */
  async stop(): Promise<void> {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.starting) await this.starting.catch(() => undefined);
    if (!this.running) return this.stopping;
    // Synchronously, so that a subscriber arriving from now on starts the feed again, after this stop.
    this.running = false;
    this.listeners.clear();
    clearTimeout(this.timer);
    this.stopping = (async () => {
      await this.tick;
      await this.log.unwatch(this.options.watcherId).catch((error: unknown) => {
        // The lease lapses by itself.
        this.options.logger.warn({ err: error }, 'could not give up the task event lease');
      });
    })();
    await this.stopping;
  }

  private async begin(): Promise<void> {
    // Its lease must be given up before this one is taken under the same name.
    await this.stopping;
    await this.renew(Date.now());
    await sleep(LEASE_SETTLE_MS);
    this.restartAt(await this.log.newestId());
    this.nextPrune = Date.now();
    this.running = true;
    this.schedule(this.options.pollMs);
  }

  /** Reading continues after `position`: what came before is not for this feed's listeners. */
  private restartAt(position: number): void {
    this.cursor = this.highest = this.start = position;
    this.delivered.clear();
    this.gapSince = undefined;
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.tick = this.step().then((more) => {
        if (this.running) this.schedule(more ? 0 : this.options.pollMs);
      });
    }, ms);
  }

  /** One round: the lease and the pruning when due, then one read. True when there is more to read. */
  private async step(): Promise<boolean> {
    const now = Date.now();
    try {
      if (now >= this.nextRenew) await this.renewKeepingTrack(now);
      if (now >= this.nextPrune) {
        this.nextPrune = now + PRUNE_EVERY_MS;
        await this.log.prune(this.options.retentionMs);
      }
      return await this.read(now);
    } catch (error) {
      this.options.logger.warn({ err: error }, 'could not read task events; trying again');
      return false;
    }
  }

  private async renew(now: number): Promise<void> {
    await this.log.watch(this.options.watcherId, this.options.leaseMs);
    this.leaseUntil = now + this.options.leaseMs;
    this.nextRenew = now + this.options.leaseMs / 4;
  }

  /**
   * Renews the lease. If it had lapsed (Postgres was out of reach), or the log went back (an unlogged table
   * is emptied when Postgres crashes), changes may be missing: listeners are told to resync.
   */
  private async renewKeepingTrack(now: number): Promise<void> {
    const lapsed = now >= this.leaseUntil;
    await this.renew(now);
    const newest = await this.log.newestId();
    const reset = newest < this.cursor;
    if (!lapsed && !reset) return;
    const reason = lapsed ? 'events may have been missed while Postgres was out of reach' : 'event log reset';
    this.options.logger.warn({ reason }, 'task events resync');
    this.restartAt(newest);
    for (const listener of this.listeners) safely(() => listener.resync(reason), this.options.logger);
  }

  private async read(now: number): Promise<boolean> {
    const events = await this.log.after(this.cursor, [...this.delivered], BATCH);
    for (const event of events) {
      const id = event.id!;
      this.delivered.add(id);
      if (id > this.highest) this.highest = id;
      for (const listener of this.listeners) safely(() => listener.event(event), this.options.logger);
    }
    this.advance(now);
    return events.length === BATCH;
  }

  private advance(now: number): void {
    for (;;) {
      while (this.delivered.delete(this.cursor + 1)) this.cursor++;
      if (this.delivered.size === 0) {
        this.gapSince = undefined;
        return;
      }
      this.gapSince ??= now;
      if (now - this.gapSince < GAP_WAIT_MS) return;
      // Given up on: skip to the lowest position read.
      this.cursor = Math.min(...this.delivered) - 1;
      this.gapSince = undefined;
    }
  }
}

/** A listener that throws must not keep the others from their events. */
function safely(fn: () => void, logger: Logger): void {
  try {
    fn();
  } catch (error) {
    logger.error({ err: error }, 'task event listener failed');
  }
}
