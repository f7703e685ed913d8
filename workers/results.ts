import { startQueueWorker } from '../src/queue/queue-worker.ts';
import type { Resources } from '../src/resources.ts';
import type { RoleHandle } from '../src/role.ts';
import { ResultService } from '../src/services/result-service.ts';

/** Consumes results published by proplets and records them in Postgres. */
export function startResults(resources: Resources): RoleHandle {
  const logger = resources.logger.child({ role: 'results' });
  const results = new ResultService(resources.tasks, resources.stoppedRuns, resources.invocationMailbox);
  const worker = startQueueWorker(
    'task-results',
    {
      result: (data, job) => results.apply(data, job.logger),
      'invoke-result': (data, job) => results.deliverInvocation(data, job.logger),
    },
    { connection: resources.queueConnection, logger, concurrency: 32 },
  );
  logger.info('results worker consuming task-results');
  return { name: 'results', stop: () => worker.close() };
}
