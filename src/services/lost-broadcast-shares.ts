import type { TaskRepository } from '../db/task-repository.ts';
import { AttemptOutcome } from '../domain/task-attempt.ts';
import type { Logger } from '../observability/logger.ts';
import type { JobQueues } from '../queue/job-queues.ts';
import { queueAdvance } from './task-queueing.ts';

export const LOST_BEFORE_REPORTING = 'proplet lost before reporting (heartbeats stopped, or its last will)';

/**
 * A dead proplet will not report on the broadcast tasks it took part in: its share of each is recorded as
 * failed, so that the task ends once the others have reported instead of staying Running for ever. A report
 * it sends if it comes back finds its share released and is ignored.
 */
export class LostBroadcastShares {
  constructor(
    private readonly tasks: TaskRepository,
    private readonly queues: JobQueues,
  ) {}

  async propletLost(propletId: string, atMs: number, logger: Logger): Promise<void> {
    for (const taskId of await this.tasks.broadcastSharesOf(propletId)) {
      const outcome = await this.tasks.recordBroadcastShare(taskId, propletId, {
        results: null,
        error: LOST_BEFORE_REPORTING,
        finishTime: new Date(atMs),
        attemptOutcome: AttemptOutcome.PropletLost,
      });
      if (outcome === 'ignored') continue;
      const log = logger.child({ taskId, propletId });
      if (outcome === 'recorded') {
        log.warn('broadcast share of a lost proplet recorded as failed');
      } else {
        log.warn({ state: outcome.finished }, 'broadcast task ended: a proplet was lost before reporting');
        await queueAdvance(this.queues, await this.tasks.findSummary(taskId));
      }
    }
  }
}
