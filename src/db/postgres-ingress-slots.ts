import { sql, type SQL } from 'drizzle-orm';
import { MAX_SLOTS, type IngressSlots } from '../coordination/ingress-slots.ts';
import type { Database } from './connection.ts';
import { ingressSlots } from './schema.ts';

/** A row of ingress_slots (as `s`) that nobody holds at `now`. */
function unheld(now: number): SQL {
  return sql`(s.token IS NULL OR s.lease_until_ms <= ${now}::bigint)`;
}

/**
 * Ingress slot leases in Postgres, for deployments without Redis: one row per slot ever taken, holding its
 * lease (a token and an expiry by the process clock) and whether its session is still to be looked after.
 * A lease is taken with INSERT ... ON CONFLICT DO UPDATE ... WHERE unheld: the conflicting row is locked
 * and the condition evaluated on its newest version, so of two instances taking one slot only one wins.
 * Leases are judged by each process's clock (Redis judges them by its own), so the clocks of the hosts
 * running ingress instances must agree to well within the lease.
 */
export class PostgresIngressSlots implements IngressSlots {
  constructor(
    private readonly db: Database,
    readonly leaseMs: number,
  ) {}

  /**
   * Takes the lowest free slot for `token`; throws when all are taken. Each attempt picks the lowest slot
   * free in its snapshot and takes it only if it is still free; an instance that took it first sends this
   * one on to the next attempt, which sees that slot held.
   */
  async claimLowest(token: string): Promise<number> {
    for (let attempt = 0; attempt < MAX_SLOTS; attempt++) {
      const now = Date.now();
      const { rows } = await this.db.execute<{ lowest: number | null; claimed: number | null }>(sql`
        WITH lowest AS (
          SELECT n FROM generate_series(0, ${MAX_SLOTS - 1}::int) AS n
          WHERE NOT EXISTS (SELECT FROM ${ingressSlots} s WHERE s.slot = n AND NOT ${unheld(now)})
          ORDER BY n LIMIT 1
        ),
        claimed AS (
          INSERT INTO ${ingressSlots} AS s (slot, token, lease_until_ms, used)
          SELECT n, ${token}, ${now + this.leaseMs}::bigint, true FROM lowest
          ON CONFLICT (slot) DO UPDATE
          SET token = excluded.token, lease_until_ms = excluded.lease_until_ms, used = true
          WHERE ${unheld(now)}
          RETURNING slot
        )
        SELECT (SELECT n FROM lowest) AS lowest, (SELECT slot FROM claimed) AS claimed`);
      const [row] = rows;
      if (row?.claimed != null) return row.claimed;
      if (row?.lowest == null) break;
    }
    throw new Error(`all ${MAX_SLOTS} ingress slots are taken`);
  }

  /** Takes one given slot if nobody holds it (to adopt an orphan). Leaves its `used` mark as it was. */
  async claim(slot: number, token: string): Promise<boolean> {
    const now = Date.now();
    const { rows } = await this.db.execute(sql`
      INSERT INTO ${ingressSlots} AS s (slot, token, lease_until_ms)
      VALUES (${slot}::int, ${token}, ${now + this.leaseMs}::bigint)
      ON CONFLICT (slot) DO UPDATE SET token = excluded.token, lease_until_ms = excluded.lease_until_ms
      WHERE ${unheld(now)}
      RETURNING slot`);
    return rows.length > 0;
  }

  /** Extends the lease; false when it was lost (it lapsed and another instance took the slot). */
  async renew(slot: number, token: string): Promise<boolean> {
    const now = Date.now();
    const { rows } = await this.db.execute(sql`
      UPDATE ${ingressSlots} s SET lease_until_ms = ${now + this.leaseMs}::bigint
      WHERE s.slot = ${slot}::int AND s.token = ${token} AND s.lease_until_ms > ${now}::bigint
      RETURNING slot`);
    return rows.length > 0;
  }

  async release(slot: number, token: string): Promise<void> {
    await this.db.execute(sql`
      UPDATE ${ingressSlots} SET token = NULL, lease_until_ms = 0
      WHERE slot = ${slot}::int AND token = ${token}`);
  }

  /**
   * Slots once used whose lease has lapsed: their broker sessions may still hold messages. With `probeBelow`,
   * also every unheld slot under that number, used or not.
   */
  async orphans(probeBelow = 0): Promise<number[]> {
    const now = Date.now();
    const { rows } = await this.db.execute<{ slot: number }>(sql`
      SELECT c.slot FROM (
        SELECT slot FROM ${ingressSlots} WHERE used
        UNION
        SELECT generate_series(0, ${probeBelow - 1}::int)
      ) c
      LEFT JOIN ${ingressSlots} s ON s.slot = c.slot
      WHERE s.slot IS NULL OR ${unheld(now)}
      ORDER BY c.slot`);
    return rows.map((row) => row.slot);
  }

  /** The slot's session was retired: no longer an orphan to look after; the lease goes too if it is ours. */
  async retire(slot: number, token: string): Promise<void> {
    await this.db.execute(sql`
      UPDATE ${ingressSlots} SET used = false,
        token = CASE WHEN token = ${token} THEN NULL ELSE token END,
        lease_until_ms = CASE WHEN token = ${token} THEN 0 ELSE lease_until_ms END
      WHERE slot = ${slot}::int`);
  }

  /** Every slot ever used (and not retired), for tests and tools that clean up broker sessions. */
  async used(): Promise<number[]> {
    const { rows } = await this.db.execute<{ slot: number }>(
      sql`SELECT slot FROM ${ingressSlots} WHERE used ORDER BY slot`,
    );
    return rows.map((row) => row.slot);
  }
}
