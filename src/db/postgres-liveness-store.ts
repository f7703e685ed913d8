import { sql, type SQL } from 'drizzle-orm';
import {
  ALIVE_HISTORY_LENGTH,
  type HeartbeatOutcome,
  type LivenessStore,
} from '../coordination/liveness-store.ts';
import type { Database } from './connection.ts';
import { coordinationCursors, propletLiveness } from './schema.ts';

/** The coordination_cursors row holding the id the rotation gave out last. */
const ROTATION_CURSOR = 'proplet-rotation';
/**
 * A statement finds no row for a proplet another process inserts in the meantime, and then cannot insert
 * it either; running it again (for those proplets only) finds the row. Only first heartbeats and last wills
 * of proplets new to the store can meet this, so a second attempt virtually always settles it.
 */
const MAX_ATTEMPTS = 5;

/** Keeps the newest ALIVE_HISTORY_LENGTH entries of a bigint[] in arrival order. */
function newestHistory(history: SQL): SQL {
  return sql`(${history})[greatest(cardinality(${history}) - ${ALIVE_HISTORY_LENGTH - 1}, 1):]`;
}

function isHeartbeatOutcome(value: string): value is HeartbeatOutcome {
  return value === 'came-alive' || value === 'unregistered' || value === 'still-alive' || value === 'ignored';
}

/**
 * The liveness store in Postgres, for deployments without Redis: one row per proplet in proplet_liveness
 * and the rotation's cursor in coordination_cursors. Each operation is one statement. Those that must
 * answer from the state before their change (heartbeats, last wills, sweeps) first lock the rows they read
 * with FOR UPDATE: under READ COMMITTED a locking read returns the newest committed version, so the answer
 * and the write agree even while other processes change the same proplets. Statements touching several
 * proplets lock the rows they find in id order and only then insert the missing ones, in id order too, so
 * two of them never wait for each other in a cycle.
 *
 * Ids are ordered with COLLATE "C" (byte order) as Redis orders them, whatever the database's collation.
 */
export class PostgresLivenessStore implements LivenessStore {
  constructor(
    private readonly db: Database,
    private readonly aliveTimeoutMs: number,
  ) {}

  async recordHeartbeat(id: string, atMs: number, nowMs = Date.now()): Promise<HeartbeatOutcome> {
    const [outcome] = await this.recordHeartbeats([{ propletId: id, receivedAt: atMs }], nowMs);
    return outcome!;
  }

  /**
   * Records many heartbeats in one statement; outcomes in the same order. Several beats of one proplet in a
   * batch get exactly the outcomes of applying them one after the other, as the Redis store does.
   */
  async recordHeartbeats(
    beats: ReadonlyArray<{ propletId: string; receivedAt: number }>,
    nowMs = Date.now(),
  ): Promise<HeartbeatOutcome[]> {
    const outcomes = new Array<HeartbeatOutcome | undefined>(beats.length);
    let pending = beats.map((_, index) => index);
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > MAX_ATTEMPTS) throw new Error('heartbeats kept racing with concurrent inserts');
      const answered = await this.applyHeartbeats(
        pending.map((index) => beats[index]!),
        nowMs,
      );
      answered.forEach((outcome, i) => (outcomes[pending[i]!] = outcome));
      pending = pending.filter((index) => outcomes[index] === undefined);
    }
    return outcomes as HeartbeatOutcome[];
  }

  /**
   * One attempt: the outcome of each beat, undefined for the proplets whose row appeared concurrently.
   *
   * Sequential semantics, per proplet, from its row before the batch: a beat is ignored while it and every
   * earlier beat of the batch are no newer than the pending last will (the first newer one clears it);
   * every other beat is accepted (newest beat, history); an accepted beat within the alive timeout is fresh,
   * and the first fresh one brings a proplet that was not alive to life.
   */
  private async applyHeartbeats(
    beats: ReadonlyArray<{ propletId: string; receivedAt: number }>,
    nowMs: number,
  ): Promise<Array<HeartbeatOutcome | undefined>> {
    const ids = beats.map((beat) => beat.propletId);
    const times = beats.map((beat) => beat.receivedAt);
    const { rows } = await this.db.execute<{ ord: string; outcome: string }>(sql`
      WITH beat AS (
        SELECT b.id, b.ts, b.ord
        FROM unnest(${sql.param(ids)}::text[], ${sql.param(times)}::bigint[]) WITH ORDINALITY AS b(id, ts, ord)
      ),
      old AS MATERIALIZED (
        SELECT id, alive, offline_at_ms, registered FROM ${propletLiveness}
        WHERE id = ANY(${sql.param(ids)}::text[])
        ORDER BY id COLLATE "C"
        FOR UPDATE
      ),
      judged AS (
        SELECT b.id, b.ord, b.ts, o.id IS NOT NULL AS existed,
          coalesce(max(b.ts) OVER arrival <= o.offline_at_ms, false) AS ignored,
          ${nowMs}::bigint - b.ts >= ${this.aliveTimeoutMs}::bigint AS stale,
          coalesce(o.alive, false) AS was_alive,
          coalesce(o.registered, false) AS registered
        FROM beat b LEFT JOIN old o ON o.id = b.id
        WINDOW arrival AS (PARTITION BY b.id ORDER BY b.ord ROWS UNBOUNDED PRECEDING)
      ),
      ranked AS (
        SELECT j.*, NOT j.ignored AND NOT j.stale AS fresh,
          count(*) FILTER (WHERE NOT j.ignored AND NOT j.stale) OVER arrival AS fresh_rank
        FROM judged j
        WINDOW arrival AS (PARTITION BY j.id ORDER BY j.ord ROWS UNBOUNDED PRECEDING)
      ),
      summary AS (
        SELECT id, bool_or(existed) AS existed,
          max(ts) FILTER (WHERE NOT ignored) AS newest,
          max(ts) FILTER (WHERE fresh) AS newest_fresh,
          coalesce(array_agg(ts ORDER BY ord) FILTER (WHERE NOT ignored), '{}') AS accepted
        FROM ranked GROUP BY id
      ),
      updated AS (
        UPDATE ${propletLiveness} l SET
          last_beat_ms = greatest(l.last_beat_ms, s.newest),
          alive = l.alive OR s.newest_fresh IS NOT NULL,
          alive_beat_ms = CASE
            WHEN s.newest_fresh IS NULL THEN l.alive_beat_ms
            WHEN l.alive THEN greatest(l.alive_beat_ms, s.newest_fresh)
            ELSE s.newest_fresh END,
          offline_at_ms = NULL,
          history = ${newestHistory(sql`l.history || s.accepted`)}
        FROM summary s
        WHERE l.id = s.id AND s.existed AND s.newest IS NOT NULL
      ),
      inserted AS (
        INSERT INTO ${propletLiveness} (id, last_beat_ms, alive, alive_beat_ms, history)
        SELECT id, newest, newest_fresh IS NOT NULL, newest_fresh, ${newestHistory(sql`accepted`)}
        FROM summary WHERE NOT existed
        ORDER BY id COLLATE "C"
        ON CONFLICT (id) DO NOTHING
        RETURNING id
      )
      SELECT ord, CASE
          WHEN ignored THEN 'ignored'
          WHEN stale THEN 'still-alive'
          WHEN NOT was_alive AND fresh AND fresh_rank = 1 THEN 'came-alive'
          WHEN NOT registered THEN 'unregistered'
          ELSE 'still-alive' END AS outcome
      FROM ranked
      WHERE existed OR id IN (SELECT id FROM inserted)`);
    const outcomes = new Array<HeartbeatOutcome | undefined>(beats.length);
    for (const { ord, outcome } of rows) {
      if (!isHeartbeatOutcome(outcome)) throw new Error(`unexpected heartbeat outcome ${outcome}`);
      outcomes[Number(ord) - 1] = outcome;
    }
    return outcomes;
  }

  /** A last will with status "offline": not alive from now on. True when it was alive until now. */
  async recordOffline(id: string, atMs: number): Promise<boolean> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const { rows } = await this.db.execute<{ handled: boolean; was_alive: boolean }>(sql`
        WITH old AS MATERIALIZED (
          SELECT id, alive, last_beat_ms FROM ${propletLiveness} WHERE id = ${id} FOR UPDATE
        ),
        updated AS (
          UPDATE ${propletLiveness} l SET offline_at_ms = ${atMs}::bigint, alive = false
          FROM old o
          WHERE l.id = o.id AND (o.last_beat_ms IS NULL OR o.last_beat_ms <= ${atMs}::bigint)
          RETURNING o.alive AS was_alive
        ),
        inserted AS (
          INSERT INTO ${propletLiveness} (id, offline_at_ms)
          SELECT ${id}, ${atMs}::bigint WHERE NOT EXISTS (SELECT FROM old)
          ON CONFLICT (id) DO NOTHING
          RETURNING id
        )
        SELECT EXISTS (SELECT FROM old) OR EXISTS (SELECT FROM inserted) AS handled,
          coalesce((SELECT was_alive FROM updated), false) AS was_alive`);
      const [row] = rows;
      if (row?.handled) return row.was_alive;
    }
    throw new Error('a last will kept racing with concurrent inserts');
  }

  /** Removes proplets whose newest heartbeat is older than the alive timeout; returns them. */
  async sweepDead(nowMs = Date.now()): Promise<Array<{ id: string; lastBeatMs: number }>> {
    const { rows } = await this.db.execute<{ id: string; last_beat_ms: string }>(sql`
      WITH dead AS MATERIALIZED (
        SELECT id FROM ${propletLiveness}
        WHERE alive AND alive_beat_ms < ${nowMs - this.aliveTimeoutMs}::bigint
        ORDER BY id COLLATE "C"
        FOR UPDATE
      )
      UPDATE ${propletLiveness} l SET alive = false
      FROM dead d WHERE l.id = d.id
      RETURNING l.id, l.alive_beat_ms AS last_beat_ms`);
    return rows
      .map((row) => ({ id: row.id, lastBeatMs: Number(row.last_beat_ms) }))
      .sort((a, b) => a.lastBeatMs - b.lastBeatMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /**
   * The next alive, registered proplet after the shared cursor, wrapping around. The pick is made in the
   * upsert of the cursor row: ON CONFLICT DO UPDATE locks that row and evaluates against its newest value,
   * so concurrent picks queue on it and each starts from the previous one's choice. The first pick ever
   * inserts the row; two of those at once conflict, and the second then picks after the first.
   */
  async pickNext(nowMs = Date.now()): Promise<string | undefined> {
    const cutoff = nowMs - this.aliveTimeoutMs;
    const candidates = sql`
      SELECT id FROM ${propletLiveness}
      WHERE alive AND registered AND alive_beat_ms > ${cutoff}::bigint`;
    const { rows } = await this.db.execute<{ value: string }>(sql`
      INSERT INTO ${coordinationCursors} AS c (name, value)
      SELECT ${ROTATION_CURSOR}, lowest.id
      FROM (${candidates} ORDER BY id COLLATE "C" LIMIT 1) lowest
      ON CONFLICT (name) DO UPDATE SET value = coalesce(
        (SELECT min(later.id COLLATE "C") FROM (${candidates}) later
         WHERE later.id COLLATE "C" > c.value COLLATE "C"),
        excluded.value)
      RETURNING value`);
    return rows[0]?.value;
  }

  /** Alive and registered: a proplet that may be given work. */
  async isAlive(id: string, nowMs = Date.now()): Promise<boolean> {
    const { rows } = await this.db.execute<{ id: string }>(sql`
      SELECT id FROM ${propletLiveness}
      WHERE id = ${id} AND alive AND registered AND alive_beat_ms > ${nowMs - this.aliveTimeoutMs}::bigint`);
    return rows.length > 0;
  }

  /**
   * The Postgres rows of these proplets exist: they may be given work. Like heartbeats, it locks the rows
   * it finds in id order before inserting the missing ones, so the two never deadlock.
   */
  async markRegistered(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.execute(sql`
      WITH found AS MATERIALIZED (
        SELECT id FROM ${propletLiveness} WHERE id = ANY(${sql.param([...ids])}::text[])
        ORDER BY id COLLATE "C"
        FOR UPDATE
      ),
      updated AS (
        UPDATE ${propletLiveness} l SET registered = true FROM found f WHERE l.id = f.id
      )
      INSERT INTO ${propletLiveness} (id, registered)
      SELECT id, true FROM (SELECT DISTINCT id FROM unnest(${sql.param([...ids])}::text[]) AS given(id)) given
      WHERE id NOT IN (SELECT id FROM found)
      ORDER BY id COLLATE "C"
      ON CONFLICT (id) DO UPDATE SET registered = true`);
  }

  /** The Postgres row of this proplet is missing: its next heartbeat registers it again. */
  async unregister(id: string): Promise<void> {
    await this.db.execute(sql`UPDATE ${propletLiveness} SET registered = false WHERE id = ${id}`);
  }

  /** Ids of the proplets alive now, in id order. */
  async aliveIds(nowMs = Date.now()): Promise<string[]> {
    const { rows } = await this.db.execute<{ id: string }>(sql`
      SELECT id FROM ${propletLiveness}
      WHERE alive AND alive_beat_ms > ${nowMs - this.aliveTimeoutMs}::bigint
      ORDER BY id COLLATE "C"`);
    return rows.map((row) => row.id);
  }

  /** Newest heartbeat of each proplet (absent when none was seen). */
  async lastBeats(ids: readonly string[]): Promise<Map<string, number>> {
    if (ids.length === 0) return new Map();
    const { rows } = await this.db.execute<{ id: string; last_beat_ms: string }>(sql`
      SELECT id, last_beat_ms FROM ${propletLiveness}
      WHERE id = ANY(${sql.param([...ids])}::text[]) AND last_beat_ms IS NOT NULL`);
    return new Map(rows.map((row) => [row.id, Number(row.last_beat_ms)]));
  }

  /** Heartbeat times, oldest first, at most ALIVE_HISTORY_LENGTH. */
  async history(id: string): Promise<number[]> {
    const { rows } = await this.db.execute<{ ts: string }>(sql`
      SELECT ts FROM ${propletLiveness}, unnest(history) AS ts WHERE id = ${id} ORDER BY ts`);
    return rows.map((row) => Number(row.ts));
  }

  /** Forgets a deleted proplet entirely. */
  async forget(id: string): Promise<void> {
    await this.db.execute(sql`DELETE FROM ${propletLiveness} WHERE id = ${id}`);
  }
}
