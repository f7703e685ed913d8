import type { TaskRepository } from '../db/task-repository.ts';
import { isTerminal, TaskState, TRANSITIONS } from '../domain/task-state.ts';
import type { Logger } from '../observability/logger.ts';
import type { JobData } from '../queue/catalog.ts';
import type { StoppedRuns } from '../coordination/stopped-runs.ts';
import { groupOf } from '../domain/group.ts';
import type { JobQueues } from '../queue/job-queues.ts';
import { queueAdvance } from './task-queueing.ts';

/**
 * Applies results published by proplets. The transition is conditional (Running, and held by the proplet
 * that sent it), so a duplicate, a late result after a stop, or a result from a proplet that does not hold
 * the task changes nothing.
 */
export class ResultService {
  constructor(
    private readonly tasks: TaskRepository,
    private readonly stoppedRuns: StoppedRuns,
    private readonly queues: JobQueues,
  ) {}

  async apply(result: JobData<'task-results', 'result'>, logger: Logger): Promise<void> {
    const log = logger.child({ taskId: result.taskId, propletId: result.propletId });
    const failed = typeof result.error === 'string' && result.error !== '';
    const transition = failed ? TRANSITIONS.fail : TRANSITIONS.complete;
    if (result.propletId && (await this.stoppedRuns.consume(result.taskId, result.propletId))) {
      log.info('result of a stopped run ignored');
      return;
    }
    const applied = await this.tasks.finish(
      result.taskId,
      transition.from,
      {
        state: transition.to,
        results: result.results ?? null,
        error: failed ? result.error : null,
        finishTime: new Date(result.receivedAt),
      },
      result.propletId,
    );
    if (applied) {
      log.info({ state: transition.to }, failed ? 'task failed' : 'task completed');
      // A failure here retries the job, whose next run finds the task finished and queues this again.
      await queueAdvance(this.queues, applied);
      return;
    }
    // A stop may have been marked while this result was on its way: this result was that run's report.
    if (result.propletId) await this.stoppedRuns.consume(result.taskId, result.propletId);
    log.warn({ reason: await this.whyIgnored(result) }, 'result ignored');
  }

  private async whyIgnored(result: JobData<'task-results', 'result'>): Promise<string> {
    const task = await this.tasks.findSummary(result.taskId);
    if (!task) return 'unknown task';
    if (isTerminal(task.state)) {
      // Perhaps this job's earlier run applied the result and could not queue what follows it.
      if (groupOf(task)) await queueAdvance(this.queues, task);
      return 'the task is already finished (duplicate, or it was stopped)';
    }
    if (task.state !== TaskState.Running) return 'the task is not running';
    return `the task is held by proplet ${task.propletId ?? 'none'}`;
  }
}
