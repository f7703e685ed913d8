import { and, asc, count, eq, getTableColumns, inArray, notInArray, sql, type SQL } from 'drizzle-orm';
import type { Proplet } from '../domain/proplet.ts';
import type { Database } from './connection.ts';
import { proplets } from './schema.ts';

export interface PropletPage {
  offset: number;
  limit: number;
  /** Only these ids (alive proplets), or all but these (inactive ones). */
  ids?: { only: readonly string[] } | { except: readonly string[] };
}

export class PropletRepository {
  constructor(private readonly db: Database) {}

  /**
   * Registers a proplet from its discovery message, or refreshes the metadata of one already known, keeping
   * its name and task count. Returns whether it was new.
   */
  async upsertDiscovered(
    id: string,
    metadata: Record<string, unknown>,
    newName: string,
  ): Promise<{ proplet: Proplet; created: boolean }> {
    const now = new Date();
    const [row] = await this.db
      .insert(proplets)
      .values({ id, name: newName, metadata, createdAt: now, updatedAt: now })
      .onConflictDoUpdate({ target: proplets.id, set: { metadata, updatedAt: now } })
      .returning({ ...getTableColumns(proplets), created: sql<boolean>`(xmax = 0)` });
    const { created, ...proplet } = row!;
    return { proplet, created };
  }

  /**
   * Records that proplets came alive, in one statement, registering those the manager has not heard the
   * discovery of (upstream proplets announce themselves only once, at start-up). Returns the new ones.
   */
  async markAlive(cameAlive: ReadonlyArray<{ id: string; at: Date; newName: string }>): Promise<string[]> {
    if (cameAlive.length === 0) return [];
    const rows = await this.db
      .insert(proplets)
      .values(
        cameAlive.map(({ id, at, newName }) => ({
          id,
          name: newName,
          lastAliveAt: at,
          createdAt: at,
          updatedAt: at,
        })),
      )
      .onConflictDoUpdate({
        target: proplets.id,
        set: { lastAliveAt: sql`greatest(${proplets.lastAliveAt}, excluded.last_alive_at)` },
      })
      .returning({ id: proplets.id, created: sql<boolean>`(xmax = 0)` });
    return rows.filter((row) => row.created).map((row) => row.id);
  }

  /** Persists the last heartbeat of proplets that just died, in one statement. */
  async recordLastAlive(lastSeen: ReadonlyArray<{ id: string; at: Date }>): Promise<void> {
    if (lastSeen.length === 0) return;
    const values = sql.join(
      lastSeen.map(({ id, at }) => sql`(${id}, ${at.toISOString()}::timestamptz)`),
      sql`, `,
    );
    await this.db.execute(
      sql`UPDATE ${proplets} SET last_alive_at = greatest(${proplets.lastAliveAt}, v.at)
          FROM (VALUES ${values}) AS v(id, at) WHERE ${proplets.id} = v.id`,
    );
  }

  async exists(id: string): Promise<boolean> {
    const [row] = await this.db.select({ id: proplets.id }).from(proplets).where(eq(proplets.id, id));
    return row !== undefined;
  }

  /** Those of `ids` that name a registered proplet. */
  async existing(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.db
      .select({ id: proplets.id })
      .from(proplets)
      .where(inArray(proplets.id, [...ids]));
    return new Set(rows.map((row) => row.id));
  }

  async findById(id: string): Promise<Proplet | undefined> {
    const [row] = await this.db.select().from(proplets).where(eq(proplets.id, id));
    return row;
  }

  /** In a stable order (by id), as the round-robin rotation takes them. */
  async list(page: PropletPage): Promise<{ proplets: Proplet[]; total: number }> {
    let filter: SQL | undefined;
    if (page.ids && 'only' in page.ids) {
      if (page.ids.only.length === 0) return { proplets: [], total: 0 };
      filter = inArray(proplets.id, [...page.ids.only]);
    } else if (page.ids && page.ids.except.length > 0) {
      filter = notInArray(proplets.id, [...page.ids.except]);
    }
    const rows = await this.db
      .select()
      .from(proplets)
      .where(filter)
      .orderBy(asc(proplets.id))
      .offset(page.offset)
      .limit(page.limit);
    const [totalRow] = await this.db.select({ total: count() }).from(proplets).where(filter);
    return { proplets: rows, total: totalRow?.total ?? 0 };
  }

  /** Deletes an idle proplet. 'busy' when it still holds tasks, 'missing' when unknown. */
  async deleteIdle(id: string): Promise<'deleted' | 'missing' | { busy: number }> {
    const deleted = await this.db
      .delete(proplets)
      .where(and(eq(proplets.id, id), eq(proplets.taskCount, 0)))
      .returning({ id: proplets.id });
    if (deleted.length > 0) return 'deleted';
    const existing = await this.findById(id);
    return existing ? { busy: existing.taskCount } : 'missing';
  }
}
