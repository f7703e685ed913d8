import type { PropletRepository } from '../db/proplet-repository.ts';
import { generatePropletName } from '../domain/proplet-name.ts';
import type { Logger } from '../observability/logger.ts';
import type { JobQueues } from '../queue/job-queues.ts';
import type { LivenessStore } from '../redis/liveness-store.ts';

/**
 * Registers proplets and tracks their heartbeats. Heartbeats touch only Redis; Postgres is written when a
 * proplet is discovered, comes alive or dies, so 10,000 proplets beating every 10 s cost no database writes.
 */
export class LivenessService {
  constructor(
    private readonly proplets: PropletRepository,
    private readonly liveness: LivenessStore,
    private readonly queues: JobQueues,
    private readonly logger: Logger,
  ) {}

  async discovered(propletId: string, metadata: Record<string, unknown>): Promise<void> {
    const { proplet, created } = await this.proplets.upsertDiscovered(
      propletId,
      metadata,
      generatePropletName(),
    );
    this.logger.info(
      { propletId, name: proplet.name, created },
      created ? 'proplet registered' : 'proplet rediscovered',
    );
  }

  async heartbeats(beats: ReadonlyArray<{ propletId: string; receivedAt: number }>): Promise<void> {
    const outcomes = await this.liveness.recordHeartbeats(beats);
    const cameAlive = new Map<string, Date>();
    beats.forEach((beat, i) => {
      if (outcomes[i] === 'came-alive') cameAlive.set(beat.propletId, new Date(beat.receivedAt));
    });
    if (cameAlive.size === 0) return;
    const registered = new Set(
      await this.proplets.markAlive(
        [...cameAlive].map(([id, at]) => ({ id, at, newName: generatePropletName() })),
      ),
    );
    for (const propletId of cameAlive.keys()) {
      const created = registered.has(propletId);
      this.logger.info(
        { propletId, created },
        created ? 'proplet registered from its heartbeat' : 'proplet alive',
      );
    }
    // Starts waiting for a proplet are delayed jobs; wake them now rather than at their next retry.
    await this.queues.promoteDelayed('task-start');
  }

  async offline(propletId: string, receivedAt: number): Promise<void> {
    if (!(await this.liveness.recordOffline(propletId, receivedAt))) return;
    const beats = await this.liveness.lastBeats([propletId]);
    const lastBeat = beats.get(propletId);
    if (lastBeat !== undefined)
      await this.proplets.recordLastAlive([{ id: propletId, at: new Date(lastBeat) }]);
    this.logger.info({ propletId }, 'proplet offline (last will)');
  }

  /** Declares dead the proplets whose heartbeats stopped; run periodically by one liveness worker at a time. */
  async sweep(): Promise<string[]> {
    const dead = await this.liveness.sweepDead();
    if (dead.length === 0) return [];
    await this.proplets.recordLastAlive(dead.map(({ id, lastBeatMs }) => ({ id, at: new Date(lastBeatMs) })));
    for (const { id, lastBeatMs } of dead) {
      this.logger.info(
        { propletId: id, lastAliveAt: new Date(lastBeatMs).toISOString() },
        'proplet dead: heartbeats stopped',
      );
    }
    return dead.map(({ id }) => id);
  }
}
