import { setTimeout as sleep } from 'node:timers/promises';
import { startQueueWorker } from '../src/queue/queue-worker.ts';
import type { Resources } from '../src/resources.ts';
import type { RoleHandle } from '../src/role.ts';
import { CronRegistry } from '../src/services/cron-registry.ts';
import { CronTickService } from '../src/services/cron-tick-service.ts';
import { DispatchService } from '../src/services/dispatch-service.ts';
import { LostBroadcastShares } from '../src/services/lost-broadcast-shares.ts';
import { Reconciler } from '../src/services/reconciler.ts';
import { ReconcileQueries } from '../src/db/reconcile-queries.ts';

const RECONCILE_RETRY_MS = 5_000;
/**
 * How long a disagreement must last before the reconciler repairs it: a start job is queued within
 * milliseconds of its task being scheduled, and an expiry job fires on time; five seconds is beyond doubt.
 */
const RECONCILE_GRACE_MS = 5_000;

/** Consumes task starts, stops and cron ticks: chooses proplets and publishes commands to them. */
export async function startScheduler(resources: Resources): Promise<RoleHandle> {
  const { config } = resources;
  const logger = resources.logger.child({ role: 'scheduler' });
  const dispatch = new DispatchService(
    resources.tasks,
    resources.liveness,
    resources.publisher,
    config.startTimeoutMs,
    resources.groups,
    resources.queues,
    config.taskTimeoutMs,
    resources.startMessageLimit,
  );
  const cron = new CronRegistry(resources.tasks, resources.queues, logger);
  const taskService = resources.taskService(logger);
  const ticks = new CronTickService(resources.tasks, taskService, cron);
  const options = { connection: resources.queueConnection, logger };

  const starts = startQueueWorker(
    'task-start',
    { start: (data, job) => dispatch.start(data, job.logger) },
    { ...options, concurrency: config.schedulerConcurrency },
  );
  const stops = startQueueWorker(
    'task-stop',
    {
      stop: (data, job) => dispatch.stop(data, job.logger),
      expire: async (data) => void (await taskService.expire(data.taskId, data.attempt, data.limitMs)),
    },
    { ...options, concurrency: 8 },
  );
  const cronTicks = startQueueWorker(
    'task-cron',
    { tick: (data, job) => ticks.tick(data, job.logger) },
    { ...options, concurrency: 8 },
  );

  const reconciler = new Reconciler(
    new ReconcileQueries(resources.postgres.db),
    resources.liveness,
    resources.queues,
    taskService,
    resources.runRecovery,
    new LostBroadcastShares(resources.tasks, resources.queues),
    {
      aliveTimeoutMs: config.propletAliveTimeoutMs,
      taskTimeoutMs: config.taskTimeoutMs,
      graceMs: RECONCILE_GRACE_MS,
    },
  );
  const maintenance = startQueueWorker(
    'maintenance',
    { reconcile: async (_data, job) => void (await reconciler.run(job.logger)) },
    { ...options, concurrency: 1 },
  );
  // One schedule however many schedulers run: each round is one job, taken by one of them.
  await resources.queues.every('maintenance', 'reconcile', config.reconcileIntervalMs, 'reconcile', {});

  const invocations = startQueueWorker(
    'task-invoke',
    {
      invoke: (data, job) => dispatch.invoke(data, job.logger),
      redeploy: (data, job) => dispatch.redeploy(data, job.logger),
    },
    { ...options, concurrency: 16 },
  );

  // Postgres is the source of truth for schedules: make the queue's job schedulers match it before the role
  // counts as started; if that fails, keep trying in the background rather than not start at all.
  const stopping = new AbortController();
  const reconcile = async (): Promise<boolean> => {
    try {
      await cron.reconcile();
      return true;
    } catch (error) {
      logger.error({ err: error }, 'could not reconcile cron schedules; will try again');
      return false;
    }
  };
  if (!(await reconcile())) {
    void (async () => {
      do await sleep(RECONCILE_RETRY_MS, undefined, { signal: stopping.signal }).catch(() => undefined);
      while (!stopping.signal.aborted && !(await reconcile()));
    })();
  }

  logger.info(
    { reconcileEveryMs: config.reconcileIntervalMs },
    'scheduler consuming task-start, task-stop, task-cron, task-invoke and maintenance',
  );
  return {
    name: 'scheduler',
    stop: async () => {
      stopping.abort();
      await Promise.all([
        starts.close(),
        stops.close(),
        cronTicks.close(),
        invocations.close(),
        maintenance.close(),
      ]);
    },
  };
}
