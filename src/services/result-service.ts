import type { TaskRepository } from '../db/task-repository.ts';
import { isTerminal, TaskState, TRANSITIONS } from '../domain/task-state.ts';
import type { Logger } from '../observability/logger.ts';
import { taskEndToEndLatency } from '../observability/metrics.ts';
import type { JobData } from '../queue/catalog.ts';
import type { StoppedRuns } from '../coordination/stopped-runs.ts';
import { groupOf } from '../domain/group.ts';
import type { JobQueues } from '../queue/job-queues.ts';
import { queueAdvance } from './task-queueing.ts';
import type { InvocationMailbox } from '../coordination/invocation-mailbox.ts';
import type { RunRecovery } from './run-recovery.ts';
import type { PropletRepository } from '../db/proplet-repository.ts';
import { PROPLET_TOPICS } from '../mqtt/topics.ts';
import type { RejectedPayloads, RejectionReason } from '../observability/rejected-payloads.ts';

/** From the start being accepted to its result applied: what a client waits for. */
function observeEndToEnd(scheduledAt: Date | null | undefined, failed: boolean): void {
  if (!scheduledAt) return;
  taskEndToEndLatency.observe(
    { outcome: failed ? 'failed' : 'completed' },
    Math.max(0, Date.now() - scheduledAt.getTime()) / 1000,
  );
}

/** Why a result changed nothing: a duplicate (not counted: delivery is at least once), or a rejection. */
interface Ignored {
  reason: RejectionReason | 'duplicate';
  why: string;
}

/**
 * Applies results published by proplets. The transition is conditional (Running, and held by the proplet
 * that sent it), so a duplicate, a late result after a stop, or a result from a proplet that does not hold
 * the task changes nothing. What changes nothing is counted as a rejected payload (unknown_task,
 * unknown_proplet, not_holder), duplicates aside.
 */
export class ResultService {
  constructor(
    private readonly tasks: TaskRepository,
    private readonly stoppedRuns: StoppedRuns,
    private readonly queues: JobQueues,
    private readonly recovery: RunRecovery,
    private readonly proplets: PropletRepository,
    private readonly rejected: RejectedPayloads,
    private readonly mailbox?: InvocationMailbox,
  ) {}

  async apply(result: JobData<'task-results', 'result'>, logger: Logger): Promise<void> {
    const log = logger.child({ taskId: result.taskId, propletId: result.propletId });
    const failed = typeof result.error === 'string' && result.error !== '';
    const transition = failed ? TRANSITIONS.fail : TRANSITIONS.complete;
    // A stopped run reports its cancellation (an error), which must not end the run that followed it on the
    // same proplet. A success is kept whichever run sent it: a run of the same task with the same inputs, so
    // a proplet that never reports its stopped runs cannot make the next run's result be ignored.
    if (result.propletId && (await this.stoppedRuns.consume(result.taskId, result.propletId)) && failed) {
      log.info('report of a stopped run ignored');
      return;
    }
    if (!result.propletId && (await this.tasks.findSummary(result.taskId))?.broadcast) {
      // A broadcast task is held by many: a report must say whose it is.
      this.rejected.record(PROPLET_TOPICS.results, 'not_holder', {
        taskId: result.taskId,
        why: 'a result for a broadcast task must name its proplet',
      });
      return;
    }
    if (failed && (await this.retryOnError(result, log))) return;
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
      observeEndToEnd(applied.scheduledAt, failed);
      log.info({ state: transition.to }, failed ? 'task failed' : 'task completed');
      // A failure here retries the job, whose next run finds the task finished and queues this again.
      await queueAdvance(this.queues, applied);
      return;
    }
    if (result.propletId && (await this.applyBroadcastShare(result, result.propletId, log))) return;
    // A stop may have been marked while this result was on its way: this result was that run's report.
    if (result.propletId) await this.stoppedRuns.consume(result.taskId, result.propletId);
    const ignored = await this.whyIgnored(result);
    if (ignored.reason === 'duplicate') log.debug({ reason: ignored.why }, 'result ignored');
    else
      this.rejected.record(PROPLET_TOPICS.results, ignored.reason, {
        taskId: result.taskId,
        propletId: result.propletId,
        why: ignored.why,
      });
  }

  /** A task that asks for it is run again after its Wasm failed, while it has retries left. */
  private async retryOnError(result: JobData<'task-results', 'result'>, log: Logger): Promise<boolean> {
    const task = await this.tasks.findSummary(result.taskId);
    if (!task?.retryOnError || task.state !== TaskState.Running) return false;
    if (result.propletId !== undefined && task.propletId !== result.propletId) return false;
    const reason = this.recovery.decide(
      task,
      'failed',
      result.error ?? 'failed',
      new Date(result.receivedAt),
    );
    return reason !== undefined && (await this.recovery.retry(task, reason, result.propletId, log));
  }

  /**
   * A broadcast task's proplet reported: its share is recorded (results under its id, errors named) and
   * released; the last share ends the task. False when the task is no broadcast this proplet holds.
   */
  private async applyBroadcastShare(
    result: JobData<'task-results', 'result'>,
    propletId: string,
    log: Logger,
  ): Promise<boolean> {
    const failed = typeof result.error === 'string' && result.error !== '';
    const outcome = await this.tasks.recordBroadcastShare(result.taskId, propletId, {
      results: result.results ?? null,
      error: failed ? (result.error ?? null) : null,
      finishTime: new Date(result.receivedAt),
    });
    if (outcome === 'ignored') return false;
    if (outcome === 'recorded') log.info({ failed }, 'broadcast share recorded; others still running');
    else {
      observeEndToEnd(outcome.scheduledAt, outcome.finished !== TaskState.Completed);
      log.info(
        { state: outcome.finished },
        outcome.finished === TaskState.Completed ? 'broadcast task completed' : 'broadcast task failed',
      );
      await queueAdvance(this.queues, await this.tasks.findSummary(result.taskId));
    }
    return true;
  }

  /** Hands an invocation's answer to the api process waiting for it, wherever that runs. */
  async deliverInvocation(answer: JobData<'task-results', 'invoke-result'>, logger: Logger): Promise<void> {
    if (!this.mailbox) throw new Error('no invocation mailbox in this process');
    if (answer.propletId && !(await this.proplets.exists(answer.propletId))) {
      this.rejected.record(PROPLET_TOPICS.invokeResults, 'unknown_proplet', {
        taskId: answer.taskId,
        propletId: answer.propletId,
      });
      return;
    }
    await this.mailbox.deliver(answer.invocationId, {
      results: answer.results,
      error: answer.error,
      propletId: answer.propletId,
    });
    logger.debug(
      { taskId: answer.taskId, invocationId: answer.invocationId, propletId: answer.propletId },
      'invocation answer delivered',
    );
  }

  private async whyIgnored(result: JobData<'task-results', 'result'>): Promise<Ignored> {
    const task = await this.tasks.findSummary(result.taskId);
    if (!task) return { reason: 'unknown_task', why: 'no such task (deleted, or never created)' };
    if (result.propletId && !(await this.proplets.exists(result.propletId)))
      return { reason: 'unknown_proplet', why: 'the proplet was never registered' };
    if (isTerminal(task.state)) {
      // Perhaps this job's earlier run applied the result and could not queue what follows it.
      if (groupOf(task)) await queueAdvance(this.queues, task);
      return { reason: 'duplicate', why: 'the task is already finished (duplicate, or it was stopped)' };
    }
    if (task.state !== TaskState.Running) return { reason: 'not_holder', why: 'the task is not running' };
    if (task.broadcast)
      return {
        reason: 'not_holder',
        why: `proplet ${result.propletId ?? 'none'} does not hold this broadcast task`,
      };
    return { reason: 'not_holder', why: `the task is held by proplet ${task.propletId ?? 'none'}` };
  }
}
