import type { RetryReason, TaskRepository } from '../db/task-repository.ts';
import { AttemptOutcome } from '../domain/task-attempt.ts';
import { mayRetry, retryDelayMs, type RetryCause } from '../domain/retry-policy.ts';
import type { Task } from '../domain/task.ts';
import { TaskState } from '../domain/task-state.ts';
import type { Logger } from '../observability/logger.ts';
import type { JobQueues } from '../queue/job-queues.ts';
import { queueAdvanceOrWarn, queueStart } from './task-queueing.ts';

export interface RetrySettings {
  /** MANAGER_TASK_MAX_RETRIES: for tasks that set no max_retries. */
  defaultMax: number;
  backoffMs: number;
  backoffMaxMs: number;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/**
 * What happens to a run that ended without a result to keep (its proplet was lost, it timed out, or, for a
 * task that asks for it, its Wasm failed): it is run again, after an exponential backoff, while the task has
 * retries left; otherwise the task fails saying why.
 */
export class RunRecovery {
  constructor(
    private readonly tasks: TaskRepository,
    private readonly queues: JobQueues,
    private readonly settings: RetrySettings,
  ) {}

  /** The retry this run is owed, or undefined when it ends the task. */
  decide(
    task: Pick<Task, 'retries' | 'maxRetries' | 'retryOnError' | 'broadcast'>,
    cause: RetryCause,
    why: string,
    at = new Date(),
  ): RetryReason | undefined {
    if (!mayRetry(task, cause, this.settings.defaultMax)) return undefined;
    const retry = task.retries + 1;
    const delayMs = retryDelayMs(retry, this.settings.backoffMs, this.settings.backoffMaxMs);
    const max = task.maxRetries ?? this.settings.defaultMax;
    return { cause, at, delayMs, error: `${why}; retry ${retry} of ${max} in ${seconds(delayMs)}` };
  }

  /** Why the task ends, when no retry is owed: the cause, and that the retries were spent if they were. */
  finalError(task: Pick<Task, 'retries' | 'maxRetries'>, cause: RetryCause, why: string): string {
    const max = task.maxRetries ?? this.settings.defaultMax;
    if (cause === 'failed' || max === 0) return why;
    return `${why} (no retries left: ${task.retries} of ${max} spent)`;
  }

  /**
   * Moves the run to a new attempt and queues its start after the backoff. False when the task moved on
   * meanwhile (finished, stopped, or already retried by another worker).
   */
  async retry(
    task: Pick<Task, 'id' | 'attempt'>,
    reason: RetryReason,
    holder: string | undefined,
    log: Logger,
  ): Promise<boolean> {
    const next = await this.tasks.retry(task.id, task.attempt, reason, holder);
    if (!next) return false;
    log.warn(
      { taskId: task.id, attempt: next.attempt, cause: reason.cause, delayMs: reason.delayMs },
      'run ended without a result; retrying',
    );
    const due = new Date(reason.at.getTime() + reason.delayMs);
    try {
      await queueStart(this.queues, { id: task.id, attempt: next.attempt, priority: next.priority }, due, {
        delayMs: reason.delayMs,
      });
    } catch (error) {
      // The task is Scheduled with no start job: the reconciler queues it on its next round.
      log.warn({ taskId: task.id, err: error }, 'could not queue the retry; the reconciler will');
    }
    return true;
  }

  /**
   * A proplet was declared dead: each task it was running is run again elsewhere while retries remain, or
   * fails saying so. A result it sends later finds the task no longer held by it, and is ignored.
   */
  async propletLost(propletId: string, atMs: number, logger: Logger): Promise<void> {
    const why = `proplet ${propletId} lost before reporting (heartbeats stopped, or its last will)`;
    for (const { id, attempt } of await this.tasks.runningOn(propletId)) {
      const task = await this.tasks.findSummary(id);
      if (!task || task.attempt !== attempt || task.state !== TaskState.Running) continue;
      const log = logger.child({ taskId: id, propletId, attempt });
      const reason = this.decide(task, 'proplet_lost', why, new Date(atMs));
      if (reason && (await this.retry(task, reason, propletId, log))) continue;
      const failed = await this.tasks.finish(
        id,
        [TaskState.Running],
        {
          state: TaskState.Failed,
          error: this.finalError(task, 'proplet_lost', why),
          finishTime: new Date(atMs),
          attemptOutcome: AttemptOutcome.PropletLost,
        },
        propletId,
      );
      if (failed) {
        log.warn('task failed: its proplet was lost and no retry is left');
        await queueAdvanceOrWarn(this.queues, failed, log);
      }
    }
  }
}
