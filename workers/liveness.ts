import { startQueueWorker } from '../src/queue/queue-worker.ts';
import type { Resources } from '../src/resources.ts';
import type { RoleHandle } from '../src/role.ts';
import { LostBroadcastShares } from '../src/services/lost-broadcast-shares.ts';
import { LivenessService } from '../src/services/liveness-service.ts';
import { MetricsService } from '../src/services/metrics-service.ts';
import { RejectedPayloads } from '../src/observability/rejected-payloads.ts';

/** How often dead proplets are looked for: a fifth of the alive timeout, between 0.2 and 5 seconds. */
export function sweepIntervalMs(aliveTimeoutMs: number): number {
  return Math.min(5_000, Math.max(200, Math.round(aliveTimeoutMs / 5)));
}

/** How often old and excess metrics samples are deleted: a tenth of the retention, between 1 and 60 seconds. */
export function pruneIntervalMs(retentionMs: number): number {
  return Math.min(60_000, Math.max(1_000, Math.round(retentionMs / 10)));
}

/**
 * Consumes discovery, heartbeats and last wills, and periodically declares silent proplets dead; records
 * metrics samples and periodically prunes them.
 */
export async function startLiveness(resources: Resources): Promise<RoleHandle> {
  const { config } = resources;
  const logger = resources.logger.child({ role: 'liveness' });
  const startedAt = Date.now();
  const lostShares = new LostBroadcastShares(resources.tasks, resources.queues);
  const liveness = new LivenessService(
    resources.proplets,
    resources.liveness,
    resources.queues,
    resources.stoppedRuns,
    logger,
    async (propletId, atMs) => {
      await resources.runRecovery.propletLost(propletId, atMs, logger);
      await lostShares.propletLost(propletId, atMs, logger);
    },
  );
  const worker = startQueueWorker(
    'proplet-liveness',
    {
      discovery: (data) => liveness.discovered(data.propletId, data.metadata),
      heartbeats: (data) => liveness.heartbeats(data.beats),
      offline: (data) => liveness.offline(data.propletId, data.receivedAt),
      sweep: async () => {
        // Heartbeats sent while no liveness worker ran were never recorded: a proplet is not dead because the
        // manager was down. Every proplet gets a whole alive timeout after a start before it can be declared
        // dead, as the reconciler gives one to proplets it does not know.
        if (Date.now() - startedAt < config.propletAliveTimeoutMs) return;
        await liveness.sweep();
      },
    },
    { connection: resources.queueConnection, logger, concurrency: 64 },
  );
  const metrics = new MetricsService(
    resources.metrics,
    config.metrics,
    logger,
    { tasks: resources.tasks, proplets: resources.proplets },
    new RejectedPayloads(logger),
  );
  const metricsWorker = startQueueWorker(
    'metrics',
    {
      samples: (data) => metrics.record(data),
      prune: () => metrics.prune(),
    },
    { connection: resources.queueConnection, logger, concurrency: 8 },
  );
  const everyMs = sweepIntervalMs(config.propletAliveTimeoutMs);
  await resources.queues.every('proplet-liveness', 'liveness-sweep', everyMs, 'sweep', {});
  // One schedule however many liveness processes run: each prune is one job, taken by one of them.
  const pruneEveryMs = pruneIntervalMs(config.metrics.retentionMs);
  await resources.queues.every('metrics', 'metrics-prune', pruneEveryMs, 'prune', {});
  logger.info(
    { sweepEveryMs: everyMs, metricsPruneEveryMs: pruneEveryMs },
    'liveness worker consuming proplet-liveness and metrics',
  );
  return {
    name: 'liveness',
    stop: async () => {
      await Promise.all([worker.close(), metricsWorker.close()]);
    },
  };
}
