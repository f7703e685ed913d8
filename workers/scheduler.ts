import { startQueueWorker } from '../src/queue/queue-worker.ts';
import type { Resources } from '../src/resources.ts';
import type { RoleHandle } from '../src/role.ts';
import { DispatchService } from '../src/services/dispatch-service.ts';

/** Consumes task starts and stops: chooses proplets and publishes commands to them. */
export function startScheduler(resources: Resources): RoleHandle {
  const { config } = resources;
  const logger = resources.logger.child({ role: 'scheduler' });
  const dispatch = new DispatchService(
    resources.tasks,
    resources.liveness,
    resources.publisher,
    config.startTimeoutMs,
  );
  const options = { connection: resources.queueConnection, logger };

  const starts = startQueueWorker(
    'task-start',
    { start: (data, job) => dispatch.start(data, job.logger) },
    { ...options, concurrency: 32 },
  );
  const stops = startQueueWorker(
    'task-stop',
    { stop: (data, job) => dispatch.stop(data, job.logger) },
    { ...options, concurrency: 8 },
  );
  const invocations = startQueueWorker(
    'task-invoke',
    {
      invoke: (data, job) => dispatch.invoke(data, job.logger),
      redeploy: (data, job) => dispatch.redeploy(data, job.logger),
    },
    { ...options, concurrency: 16 },
  );
  logger.info('scheduler consuming task-start, task-stop and task-invoke');
  return {
    name: 'scheduler',
    stop: async () => void (await Promise.all([starts.close(), stops.close(), invocations.close()])),
  };
}
