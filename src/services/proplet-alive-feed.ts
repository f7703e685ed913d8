import type { LivenessStore } from '../coordination/liveness-store.ts';
import type { PropletEvent } from '../domain/task-event.ts';
import type { Logger } from '../observability/logger.ts';

export type PropletEventListener = (event: PropletEvent) => void;

/**
 * Proplets coming alive and dying, seen by comparing the set of alive proplets from one look to the next
 * while someone listens: one read of the liveness store per interval, however many listen, and nothing
 * added to the heartbeat path (liveness changes are decided by the liveness role, in another process).
 */
export class PropletAliveFeed {
  private readonly listeners = new Set<PropletEventListener>();
  private alive?: Set<string>;
  private starting?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private tick?: Promise<void>;
  private generation = 0;

  constructor(
    private readonly liveness: Pick<LivenessStore, 'aliveIds'>,
    private readonly options: { pollMs: number; logger: Logger },
  ) {}

  async subscribe(listener: PropletEventListener): Promise<() => void> {
    if (!this.alive) {
      this.starting ??= this.begin().finally(() => (this.starting = undefined));
      await this.starting;
    }
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && !this.starting) this.halt();
    };
  }

  async stop(): Promise<void> {
    if (this.starting) await this.starting.catch(() => undefined);
    this.listeners.clear();
    this.halt();
    await this.tick;
  }

  private halt(): void {
    clearTimeout(this.timer);
    this.alive = undefined;
    // A look in flight must not schedule the next one of a feed stopped (or started again) meanwhile.
    this.generation++;
  }

  private async begin(): Promise<void> {
    this.alive = new Set(await this.liveness.aliveIds());
    this.schedule(this.generation);
  }

  private schedule(generation: number): void {
    this.timer = setTimeout(() => {
      this.tick = this.look(generation).then(() => {
        if (generation === this.generation) this.schedule(generation);
      });
    }, this.options.pollMs);
  }

  private async look(generation: number): Promise<void> {
    let now: string[];
    try {
      now = await this.liveness.aliveIds();
    } catch (error) {
      this.options.logger.warn({ err: error }, 'could not read alive proplets; trying again');
      return;
    }
    const before = this.alive;
    if (!before || generation !== this.generation) return;
    const after = new Set(now);
    const time = new Date();
    const changes: PropletEvent[] = [
      ...now.filter((id) => !before.has(id)).map((propletId) => ({ propletId, alive: true, time })),
      ...[...before].filter((id) => !after.has(id)).map((propletId) => ({ propletId, alive: false, time })),
    ];
    this.alive = after;
    for (const change of changes)
      for (const listener of this.listeners) {
        try {
          listener(change);
        } catch (error) {
          this.options.logger.error({ err: error }, 'proplet event listener failed');
        }
      }
  }
}
