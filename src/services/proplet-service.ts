import type { PropletRepository } from '../db/proplet-repository.ts';
import { ConflictError, NotFoundError } from '../domain/errors.ts';
import type { Proplet } from '../domain/proplet.ts';
import type { LivenessStore } from '../coordination/liveness-store.ts';

export type PropletStatus = 'active' | 'inactive';

/** A proplet as the API shows it: the registry row from Postgres joined with hot liveness from Redis. */
export interface PropletView extends Proplet {
  alive: boolean;
  lastAliveAt: Date | null;
}

/** Use cases on proplets, as the HTTP API offers them. */
export class PropletService {
  constructor(
    private readonly proplets: PropletRepository,
    private readonly liveness: LivenessStore,
  ) {}

  async list(page: {
    offset: number;
    limit: number;
    status?: PropletStatus;
  }): Promise<{ proplets: PropletView[]; total: number }> {
    const aliveIds = await this.liveness.aliveIds();
    const ids =
      page.status === 'active'
        ? { only: aliveIds }
        : page.status === 'inactive'
          ? { except: aliveIds }
          : undefined;
    const result = await this.proplets.list({ offset: page.offset, limit: page.limit, ids });
    return { total: result.total, proplets: await this.withLiveness(result.proplets, new Set(aliveIds)) };
  }

  async get(id: string): Promise<PropletView> {
    const proplet = await this.proplets.findById(id);
    if (!proplet) throw new NotFoundError(`proplet ${id} not found`);
    const alive = await this.liveness.isAlive(id);
    const [view] = await this.withLiveness([proplet], new Set(alive ? [id] : []));
    return view!;
  }

  async delete(id: string): Promise<void> {
    const outcome = await this.proplets.deleteIdle(id);
    if (outcome === 'missing') throw new NotFoundError(`proplet ${id} not found`);
    if (outcome !== 'deleted') throw new ConflictError(`proplet ${id} has ${outcome.busy} active tasks`);
    await this.liveness.forget(id);
  }

  /** Heartbeat times, oldest first (upstream keeps the last 10). */
  async aliveHistory(
    id: string,
    page: { offset: number; limit: number },
  ): Promise<{ history: Date[]; total: number }> {
    if (!(await this.proplets.findById(id))) throw new NotFoundError(`proplet ${id} not found`);
    const history = await this.liveness.history(id);
    return {
      total: history.length,
      history: history.slice(page.offset, page.offset + page.limit).map((ms) => new Date(ms)),
    };
  }

  private async withLiveness(proplets: Proplet[], aliveIds: ReadonlySet<string>): Promise<PropletView[]> {
    const beats = await this.liveness.lastBeats(proplets.map((proplet) => proplet.id));
    return proplets.map((proplet) => {
      const beat = beats.get(proplet.id);
      const persisted = proplet.lastAliveAt?.getTime();
      const newest = Math.max(beat ?? -Infinity, persisted ?? -Infinity);
      return {
        ...proplet,
        alive: aliveIds.has(proplet.id),
        lastAliveAt: Number.isFinite(newest) ? new Date(newest) : null,
      };
    });
  }
}
