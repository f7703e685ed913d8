/** Upstream keeps the last 10 heartbeat times of each proplet. */
export const ALIVE_HISTORY_LENGTH = 10;

/** 'unregistered': alive, but its Postgres row is not confirmed yet (see markRegistered). */
export type HeartbeatOutcome = 'came-alive' | 'unregistered' | 'still-alive' | 'ignored';

/**
 * Hot liveness of proplets, shared by every liveness worker and scheduler, so that heartbeats never write
 * the proplets table: only changes (a proplet coming alive or dying) are persisted, by the liveness
 * service. Kept in Redis where there is one (src/redis), in Postgres otherwise (src/db).
 */
export interface LivenessStore {
  recordHeartbeat(id: string, atMs: number, nowMs?: number): Promise<HeartbeatOutcome>;
  /** Records many heartbeats at once; outcomes in the same order. */
  recordHeartbeats(
    beats: ReadonlyArray<{ propletId: string; receivedAt: number }>,
    nowMs?: number,
  ): Promise<HeartbeatOutcome[]>;
  /** A last will with status "offline": not alive from now on. True when it was alive until now. */
  recordOffline(id: string, atMs: number): Promise<boolean>;
  /** Removes proplets whose newest heartbeat is older than the alive timeout; returns them. */
  sweepDead(nowMs?: number): Promise<Array<{ id: string; lastBeatMs: number }>>;
  /**
   * The next alive, registered proplet after the shared cursor in id order, wrapping around; advances the
   * cursor. Undefined when none is alive.
   */
  pickNext(nowMs?: number): Promise<string | undefined>;
  /** Alive and registered: a proplet that may be given work. */
  isAlive(id: string, nowMs?: number): Promise<boolean>;
  /** The Postgres rows of these proplets exist: they may be given work. */
  markRegistered(ids: readonly string[]): Promise<void>;
  /** The Postgres row of this proplet is missing: its next heartbeat registers it again. */
  unregister(id: string): Promise<void>;
  /** Ids of the proplets alive now, in id order. */
  aliveIds(nowMs?: number): Promise<string[]>;
  /** Newest heartbeat of each proplet (absent when none was seen). */
  lastBeats(ids: readonly string[]): Promise<Map<string, number>>;
  /** Heartbeat times, oldest first, at most ALIVE_HISTORY_LENGTH. */
  history(id: string): Promise<number[]>;
  /** Forgets a deleted proplet entirely. */
  forget(id: string): Promise<void>;
}
