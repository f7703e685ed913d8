import type { Redis } from 'ioredis';
import {
  ALIVE_HISTORY_LENGTH,
  type HeartbeatOutcome,
  type LivenessStore,
} from '../coordination/liveness-store.ts';
import { HEARTBEAT_SCRIPT, OFFLINE_SCRIPT, PICK_SCRIPT, SWEEP_SCRIPT } from './liveness-scripts.ts';

const SWEEP_BATCH = 1_000;
const OUTCOMES: Record<string, HeartbeatOutcome> = {
  '1': 'came-alive',
  '2': 'unregistered',
  '0': 'still-alive',
  '-1': 'ignored',
};

/** The scripts below, as ioredis adds them to the client with defineCommand. */
interface LivenessCommands {
  propellerOffline(...keysThenArgs: Array<string | number>): Promise<number>;
  propellerSweep(...keysThenArgs: Array<string | number>): Promise<string[]>;
  propellerPick(...keysThenArgs: Array<string | number>): Promise<string | null>;
}

/** The liveness store in Redis: every change is one atomic script (see liveness-scripts.ts). */
export class RedisLivenessStore implements LivenessStore {
  private readonly keys;

  private readonly scripts: LivenessCommands;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly aliveTimeoutMs: number,
  ) {
    const base = `${prefix}:liveness`;
    this.keys = {
      beats: `${base}:beats`,
      alive: `${base}:alive`,
      rotation: `${base}:rotation`,
      offline: `${base}:offline`,
      cursor: `${base}:cursor`,
      registered: `${base}:registered`,
      history: (id: string) => `${base}:history:${id}`,
    };
    redis.defineCommand('propellerHeartbeat', { numberOfKeys: 6, lua: HEARTBEAT_SCRIPT });
    redis.defineCommand('propellerOffline', { numberOfKeys: 4, lua: OFFLINE_SCRIPT });
    redis.defineCommand('propellerSweep', { numberOfKeys: 2, lua: SWEEP_SCRIPT });
    redis.defineCommand('propellerPick', { numberOfKeys: 4, lua: PICK_SCRIPT });
    this.scripts = redis as unknown as LivenessCommands;
  }

  async recordHeartbeat(id: string, atMs: number, nowMs = Date.now()): Promise<HeartbeatOutcome> {
    const [outcome] = await this.recordHeartbeats([{ propletId: id, receivedAt: atMs }], nowMs);
    return outcome!;
  }

  /** Records many heartbeats in one round trip (a pipeline of scripts); outcomes in the same order. */
  async recordHeartbeats(
    beats: ReadonlyArray<{ propletId: string; receivedAt: number }>,
    nowMs = Date.now(),
  ): Promise<HeartbeatOutcome[]> {
    const k = this.keys;
    const pipeline = this.redis.pipeline();
    const scripts = pipeline as unknown as {
      propellerHeartbeat(...keysThenArgs: Array<string | number>): unknown;
    };
    for (const { propletId, receivedAt } of beats) {
      scripts.propellerHeartbeat(
        k.beats,
        k.alive,
        k.rotation,
        k.offline,
        k.history(propletId),
        k.registered,
        propletId,
        receivedAt,
        ALIVE_HISTORY_LENGTH,
        nowMs,
        this.aliveTimeoutMs,
      );
    }
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([error, code]) => {
      if (error) throw error;
      return OUTCOMES[String(code)] ?? 'still-alive';
    });
  }

  /** A last will with status "offline": not alive from now on. True when it was alive until now. */
  async recordOffline(id: string, atMs: number): Promise<boolean> {
    const k = this.keys;
    return (await this.scripts.propellerOffline(k.beats, k.alive, k.rotation, k.offline, id, atMs)) === 1;
  }

  /** Removes proplets whose newest heartbeat is older than the alive timeout; returns them. */
  async sweepDead(nowMs = Date.now()): Promise<Array<{ id: string; lastBeatMs: number }>> {
    const dead: Array<{ id: string; lastBeatMs: number }> = [];
    for (;;) {
      const flat = await this.scripts.propellerSweep(
        this.keys.alive,
        this.keys.rotation,
        nowMs - this.aliveTimeoutMs,
        SWEEP_BATCH,
      );
      for (let i = 0; i + 1 < flat.length; i += 2)
        dead.push({ id: flat[i]!, lastBeatMs: Number(flat[i + 1]) });
      if (flat.length < SWEEP_BATCH * 2) return dead;
    }
  }

  /** The next alive proplet in the shared round-robin rotation, or undefined when none is alive. */
  async pickNext(nowMs = Date.now()): Promise<string | undefined> {
    const k = this.keys;
    return (
      (await this.scripts.propellerPick(
        k.alive,
        k.rotation,
        k.cursor,
        k.registered,
        nowMs - this.aliveTimeoutMs,
      )) ?? undefined
    );
  }

  /** Alive and registered: a proplet that may be given work. */
  async isAlive(id: string, nowMs = Date.now()): Promise<boolean> {
    const [[, beat], [, registered]] = (await this.redis
      .multi()
      .zscore(this.keys.alive, id)
      .sismember(this.keys.registered, id)
      .exec()) as [[unknown, string | null], [unknown, number]];
    return beat !== null && Number(beat) > nowMs - this.aliveTimeoutMs && registered === 1;
  }

  /** The Postgres rows of these proplets exist: they may be given work. */
  async markRegistered(ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.redis.sadd(this.keys.registered, ...ids);
  }

  /** The Postgres row of this proplet is missing: its next heartbeat registers it again. */
  async unregister(id: string): Promise<void> {
    await this.redis.srem(this.keys.registered, id);
  }

  /** Ids of the proplets alive now, in id order. */
  async aliveIds(nowMs = Date.now()): Promise<string[]> {
    const ids = await this.redis.zrangebyscore(this.keys.alive, `(${nowMs - this.aliveTimeoutMs}`, '+inf');
    return ids.sort();
  }

  /** Newest heartbeat of each proplet (undefined when none was seen since Redis last started). */
  async lastBeats(ids: readonly string[]): Promise<Map<string, number>> {
    const beats = new Map<string, number>();
    if (ids.length === 0) return beats;
    const scores = await this.redis.zmscore(this.keys.beats, ...ids);
    ids.forEach((id, i) => {
      const score = scores[i];
      if (score !== null && score !== undefined) beats.set(id, Number(score));
    });
    return beats;
  }

  /** Heartbeat times, oldest first. */
  async history(id: string): Promise<number[]> {
    const entries = await this.redis.lrange(this.keys.history(id), 0, -1);
    return entries.map(Number).sort((a, b) => a - b);
  }

  /** Forgets a deleted proplet entirely. */
  async forget(id: string): Promise<void> {
    const k = this.keys;
    await this.redis
      .multi()
      .zrem(k.beats, id)
      .zrem(k.alive, id)
      .zrem(k.rotation, id)
      .hdel(k.offline, id)
      .srem(k.registered, id)
      .del(k.history(id))
      .exec();
  }
}
