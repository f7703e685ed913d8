import { startQueueWorker } from '../src/queue/queue-worker.ts';
import type { Resources } from '../src/resources.ts';
import type { RoleHandle } from '../src/role.ts';
import { LivenessService } from '../src/services/liveness-service.ts';

/** How often dead proplets are looked for: a fifth of the alive timeout, between 0.2 and 5 seconds. */
export function sweepIntervalMs(aliveTimeoutMs: number): number {
  return Math.min(5_000, Math.max(200, Math.round(aliveTimeoutMs / 5)));
}

/** Consumes discovery, heartbeats and last wills, and periodically declares silent proplets dead. */
export async function startLiveness(resources: Resources): Promise<RoleHandle> {
  const { config } = resources;
  const logger = resources.logger.child({ role: 'liveness' });
  const liveness = new LivenessService(
    resources.proplets,
    resources.liveness,
    resources.queues,
    resources.stoppedRuns,
    logger,
  );
  const worker = startQueueWorker(
    'proplet-liveness',
    {
      discovery: (data) => liveness.discovered(data.propletId, data.metadata),
      heartbeats: (data) => liveness.heartbeats(data.beats),
      offline: (data) => liveness.offline(data.propletId, data.receivedAt),
      sweep: async () => void (await liveness.sweep()),
    },
    { connection: resources.queueConnection, logger, concurrency: 64 },
  );
  const everyMs = sweepIntervalMs(config.propletAliveTimeoutMs);
  await resources.queues.every('proplet-liveness', 'liveness-sweep', everyMs, 'sweep', {});
  logger.info({ sweepEveryMs: everyMs }, 'liveness worker consuming proplet-liveness');
  return { name: 'liveness', stop: () => worker.close() };
}
