import { startQueueWorker } from '../src/queue/queue-worker.ts';
import type { Resources } from '../src/resources.ts';
import type { RoleHandle } from '../src/role.ts';
import { ProgressionService } from '../src/services/progression-service.ts';
import { ResultService } from '../src/services/result-service.ts';
import { RejectedPayloads } from '../src/observability/rejected-payloads.ts';

/** How often workflows and jobs waiting with nothing under way are looked at again. */
const GROUP_SWEEP_EVERY_MS = 30_000;

/** Consumes results published by proplets, records them in Postgres, and moves workflows and jobs on. */
export async function startResults(resources: Resources): Promise<RoleHandle> {
  const { config } = resources;
  const logger = resources.logger.child({ role: 'results' });
  const results = new ResultService(
    resources.tasks,
    resources.stoppedRuns,
    resources.queues,
    resources.runRecovery,
    resources.proplets,
    new RejectedPayloads(logger),
    resources.invocationMailbox,
  );
  const tasks = resources.taskService(logger);
  const progression = new ProgressionService(
    resources.groups,
    tasks,
    resources.queues,
    config.jobExecutionMode,
  );
  const options = { connection: resources.queueConnection, logger };
  const resultWorker = startQueueWorker(
    'task-results',
    {
      result: (data, job) => results.apply(data, job.logger),
      'invoke-result': (data, job) => results.deliverInvocation(data, job.logger),
    },
    { ...options, concurrency: 32 },
  );
  const progressWorker = startQueueWorker(
    'group-progress',
    {
      advance: (data, job) => progression.advance({ kind: data.group, id: data.id }, job.logger),
      sweep: (_data, job) => progression.sweep(job.logger),
    },
    { ...options, concurrency: 8 },
  );
  // One schedule however many results processes run: each sweep is one job, taken by one of them.
  await resources.queues.every('group-progress', 'group-sweep', GROUP_SWEEP_EVERY_MS, 'sweep', {});
  logger.info('results worker consuming task-results and group-progress');
  return {
    name: 'results',
    stop: async () => void (await Promise.all([resultWorker.close(), progressWorker.close()])),
  };
}
