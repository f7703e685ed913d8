import type { PropletRepository } from '../db/proplet-repository.ts';
import { generatePropletName } from '../domain/proplet-name.ts';
import type { Logger } from '../observability/logger.ts';
import type { JobQueues } from '../queue/job-queues.ts';
import type { LivenessStore } from '../coordination/liveness-store.ts';
import type { StoppedRuns } from '../coordination/stopped-runs.ts';

/**
 * Registers proplets and tracks their heartbeats. Heartbeats touch only Redis; Postgres is written when a
 * proplet is discovered, comes alive or dies, so 10,000 proplets beating every 10 s cost no database writes.
 */
export class LivenessService {
  constructor(
    private readonly proplets: PropletRepository,
    private readonly liveness: LivenessStore,
    private readonly queues: JobQueues,
    private readonly stoppedRuns: StoppedRuns,
    private readonly logger: Logger,
    /** Called for each proplet that died (silent, or its last will), once, after it is recorded dead. */
    private readonly onLost: (propletId: string, atMs: number) => Promise<void> = async () => {},
  ) {}

  async discovered(propletId: string, metadata: Record<string, unknown>): Promise<void> {
    const { proplet, created } = await this.proplets.upsertDiscovered(
      propletId,
      metadata,
      generatePropletName(),
    );
    await this.liveness.markRegistered([propletId]);
    // Upstream proplets announce themselves once, at start-up: runs stopped before will never report.
    await this.stoppedRuns.forgetProplet(propletId);
    this.logger.info(
      { propletId, name: proplet.name, created },
      created ? 'proplet registered' : 'proplet rediscovered',
    );
  }

  /**
   * Applies a batch of heartbeats in Redis. Postgres is written only for proplets that came alive, or whose
   * row is not confirmed yet; until it is, their heartbeats keep asking for it, so a failed write is retried
   * by the next heartbeat and no proplet is given work without a row.
   */
  async heartbeats(beats: ReadonlyArray<{ propletId: string; receivedAt: number }>): Promise<void> {
    const outcomes = await this.liveness.recordHeartbeats(beats);
    const toRecord = new Map<string, { at: Date; cameAlive: boolean }>();
    beats.forEach((beat, i) => {
      const outcome = outcomes[i];
      if (outcome !== 'came-alive' && outcome !== 'unregistered') return;
      const cameAlive = outcome === 'came-alive' || toRecord.get(beat.propletId)?.cameAlive === true;
      toRecord.set(beat.propletId, { at: new Date(beat.receivedAt), cameAlive });
    });
    if (toRecord.size === 0) return;
    const created = new Set(
      await this.proplets.markAlive(
        [...toRecord].map(([id, { at }]) => ({ id, at, newName: generatePropletName() })),
      ),
    );
    await this.liveness.markRegistered([...toRecord.keys()]);
    for (const [propletId, { cameAlive }] of toRecord) {
      if (created.has(propletId)) this.logger.info({ propletId }, 'proplet registered from its heartbeat');
      else if (cameAlive) this.logger.info({ propletId }, 'proplet alive');
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
    await this.onLost(propletId, receivedAt);
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
    for (const { id } of dead) await this.onLost(id, Date.now());
    return dead.map(({ id }) => id);
  }
}
