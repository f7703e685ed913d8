import type { TaskRepository } from '../db/task-repository.ts';
import type { Task } from '../domain/task.ts';
import { TaskState, TRANSITIONS } from '../domain/task-state.ts';
import type { CommandPublisher } from '../mqtt/command-publisher.ts';
import { NotConnectedError } from '../mqtt/not-connected-error.ts';
import {
  buildBroadcastStartMessage,
  buildBroadcastStopMessage,
  buildRedeployMessage,
  buildStartMessage,
  buildStopMessage,
} from '../mqtt/outbound-payloads.ts';
import type { Logger } from '../observability/logger.ts';
import { taskDispatchLatency } from '../observability/metrics.ts';
import { jobIds, type JobData } from '../queue/catalog.ts';
import { retryLater, type RetryLater } from '../queue/queue-worker.ts';
import type { LivenessStore } from '../coordination/liveness-store.ts';
import type { GroupRepository } from '../db/group-repository.ts';
import type { JobQueues } from '../queue/job-queues.ts';
import { queueAdvanceOrWarn } from './task-queueing.ts';
import type { StartMessageLimit } from './start-message-limit.ts';

const FIRST_RETRY_MS = 250;
const LONGEST_RETRY_MS = 5_000;

/** Waits grow with the time already waited, and never overshoot the start timeout by much. */
export function nextRetryDelay(waitedMs: number, remainingMs: number): number {
  return Math.max(1, Math.min(Math.max(FIRST_RETRY_MS, waitedMs / 2), LONGEST_RETRY_MS, remainingMs + 1));
}

function formatDuration(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms / 1_000} s`;
}

/**
 * The scheduler's work: sends a scheduled task to a live proplet, chosen round-robin (or the one it is
 * pinned to), and sends stop commands. A start waits, without failing, until a proplet is alive or the
 * start timeout passes (Decision 4, 9).
 */
export class DispatchService {
  constructor(
    private readonly tasks: TaskRepository,
    private readonly liveness: LivenessStore,
    private readonly publisher: CommandPublisher,
    private readonly startTimeoutMs: number,
    private readonly groups: GroupRepository,
    private readonly queues: JobQueues,
    /** MANAGER_TASK_TIMEOUT: the limit of a run whose task sets none. */
    private readonly taskTimeoutMs?: number,
    /** Without it, starts are published whatever their size. */
    private readonly startLimit?: StartMessageLimit,
  ) {}

  /**
   * A start that no proplet would take (its parents' results made it too large, or the limit was lowered
   * since the task was created) fails the task now, saying why, rather than being published for nothing.
   */
  private async failIfTooLarge(
    task: Task,
    job: JobData<'task-start', 'start'>,
    to: { propletId: string } | 'broadcast',
    parentResults: Record<string, unknown> | undefined,
    log: Logger,
  ): Promise<boolean> {
    if (!this.startLimit) return false;
    const fileBytes = task.file?.length ?? task.fileSize;
    const bytes = this.startLimit.packetBytes(task, fileBytes, to, parentResults);
    const problem = this.startLimit.tooLarge(bytes, fileBytes);
    if (!problem) return false;
    await this.giveUp(job, `no start: ${problem}`, log, 'start refused: too large for a proplet');
    return true;
  }

  /**
   * Queues the end of the run's time, if it has a limit: the task's own `timeout`, else the default for all
   * (not for daemons, which are meant to run on). A latent task's deployment is no run. Queuing it again for
   * the same run is a no-op.
   */
  private async armTimeout(task: Task, attempt: number): Promise<void> {
    if (task.latent) return;
    const limitMs =
      task.timeoutSeconds !== null
        ? task.timeoutSeconds * 1_000
        : task.daemon
          ? undefined
          : this.taskTimeoutMs;
    if (limitMs === undefined) return;
    await this.queues.enqueue(
      'task-stop',
      'expire',
      { taskId: task.id, attempt, limitMs },
      { jobId: jobIds.expire(task.id, attempt), delay: limitMs },
    );
  }

  /**
   * Handles one start job. Whatever goes wrong (Postgres, Redis or the broker away), the start is tried
   * again until the start timeout, then the task fails saying why: it never stays Scheduled for want of a
   * retry.
   */
  async start(job: JobData<'task-start', 'start'>, logger: Logger): Promise<void | RetryLater> {
    const log = logger.child({ taskId: job.taskId, attempt: job.attempt });
    const waitedMs = Date.now() - job.requestedAt;
    const remainingMs = this.startTimeoutMs - waitedMs;
    try {
      const outcome = await this.dispatch(job, log);
      if (outcome === 'dispatched' || outcome === 'dropped') return;
      if (remainingMs > 0) return retryLater(nextRetryDelay(waitedMs, remainingMs));
      await this.giveUp(
        job,
        `no start: ${outcome.reason} within ${formatDuration(this.startTimeoutMs)}`,
        log,
      );
    } catch (error) {
      if (remainingMs <= 0) {
        // If this fails too, the job's own attempts take over.
        await this.giveUp(job, `no start: ${(error as Error).message}`, log);
        return;
      }
      log.warn({ err: error }, 'start failed; will try again');
      return retryLater(nextRetryDelay(waitedMs, remainingMs));
    }
  }

  private async dispatch(
    job: JobData<'task-start', 'start'>,
    log: Logger,
  ): Promise<'dispatched' | 'dropped' | { reason: string }> {
    const task = await this.tasks.findById(job.taskId);
    if (!task || task.attempt !== job.attempt) {
      log.info('start dropped: the task was deleted or started again since');
      return 'dropped';
    }
    if (task.broadcast) return this.dispatchBroadcast(task, job, log);
    if (task.state === TaskState.Running && task.propletId) {
      // This job already marked the task Running, then its worker died before the publish was confirmed.
      // Proplets ignore a start for a task they already run, so sending it again is safe.
      await this.publisher.publishStart(buildStartMessage(task, task.propletId));
      await this.armTimeout(task, job.attempt);
      log.info({ propletId: task.propletId }, 'start published again after an interrupted dispatch');
      return 'dispatched';
    }
    if (task.state !== TaskState.Scheduled) {
      log.info({ state: task.state }, 'start dropped: the task is no longer scheduled');
      return 'dropped';
    }

    const propletId = task.requestedPropletId
      ? (await this.liveness.isAlive(task.requestedPropletId))
        ? task.requestedPropletId
        : undefined
      : await this.liveness.pickNext();
    if (!propletId) {
      const wanted = task.requestedPropletId ? `proplet ${task.requestedPropletId}` : 'a live proplet';
      log.debug(`waiting for ${wanted}`);
      return { reason: `${wanted} was not available` };
    }

    // Upstream sends the results of finished parents along; its proplets ignore them, ours may read them.
    const parentResults = task.dependsOn ? await this.groups.parentResults(task.dependsOn) : undefined;
    if (await this.failIfTooLarge(task, job, { propletId }, parentResults, log)) return 'dropped';
    const marked = await this.tasks.markDispatched(task.id, job.attempt, propletId, new Date());
    if (marked === 'unknown-proplet') {
      // Alive in Redis but not in Postgres (its database row was deleted): registration must happen again.
      await this.liveness.unregister(propletId);
      return { reason: `proplet ${propletId} was not registered` };
    }
    if (!marked) {
      log.info('start dropped: the task changed state while a proplet was chosen');
      return 'dropped';
    }
    try {
      await this.publisher.publishStart(
        buildStartMessage({ ...task, state: TaskState.Running }, propletId, parentResults),
      );
    } catch (error) {
      if (error instanceof NotConnectedError) {
        // Nothing went out: the task may go to another proplet.
        await this.tasks.revertDispatch(task.id, job.attempt);
        log.warn({ propletId }, 'start not published: broker unreachable; will try again');
        return { reason: 'the start command could not be published (broker unreachable)' };
      }
      // Unacknowledged, but it may still reach the proplet: keep it there, and publish again (proplets
      // ignore a start for a task they already run) until it is acknowledged.
      throw error;
    }
    const dispatchMs = Date.now() - job.requestedAt;
    taskDispatchLatency.observe(dispatchMs / 1000);
    await this.stopIfOvertaken(task.id, job.attempt, propletId, log);
    await this.armTimeout(task, job.attempt);
    log.info({ propletId, dispatchMs }, 'task dispatched');
    return 'dispatched';
  }

  /**
   * A stop accepted while the start was being published may have reached the proplet first, by another
   * scheduler's connection; the proplet would then run a task the manager has already failed. Checking after
   * the publish closes that window.
   */
  private async stopIfOvertaken(
    taskId: string,
    attempt: number,
    propletId: string,
    log: Logger,
  ): Promise<void> {
    const now = await this.tasks.runState(taskId);
    if (now && now.state === TaskState.Running && now.attempt === attempt && now.propletId === propletId)
      return;
    await this.publisher.publishStop(buildStopMessage(taskId, propletId));
    log.info({ propletId }, 'task stopped while its start was published: stop sent again');
  }

  async stop(job: JobData<'task-stop', 'stop'>, logger: Logger): Promise<void> {
    if ('broadcast' in job) {
      await this.publisher.publishStop(buildBroadcastStopMessage(job.taskId));
      logger.info({ taskId: job.taskId }, 'broadcast stop published');
      return;
    }
    await this.publisher.publishStop(buildStopMessage(job.taskId, job.propletId));
    logger.info({ taskId: job.taskId, propletId: job.propletId }, 'stop published');
  }

  /**
   * A broadcast start goes to every live proplet: each gets a pin, and one start message without a
   * proplet_id reaches them all (spec §3.3.4). Waits like any start while none is alive.
   */
  private async dispatchBroadcast(
    task: Task,
    job: JobData<'task-start', 'start'>,
    log: Logger,
  ): Promise<'dispatched' | 'dropped' | { reason: string }> {
    if (task.state === TaskState.Running) {
      // As for a targeted start: this job marked it Running, then died before the publish was confirmed.
      // Sent again only to the proplets that have not reported: a broadcast would run it twice on the others.
      const waiting = await this.tasks.holders(task.id);
      for (const propletId of waiting) await this.publisher.publishStart(buildStartMessage(task, propletId));
      await this.armTimeout(task, job.attempt);
      log.info({ proplets: waiting.length }, 'broadcast start published again after an interrupted dispatch');
      return 'dispatched';
    }
    if (task.state !== TaskState.Scheduled) {
      log.info({ state: task.state }, 'start dropped: the task is no longer scheduled');
      return 'dropped';
    }
    if (await this.failIfTooLarge(task, job, 'broadcast', undefined, log)) return 'dropped';
    const alive = await this.liveness.aliveIds();
    if (alive.length === 0) return { reason: 'a live proplet was not available' };
    const marked = await this.tasks.markDispatchedToAll(task.id, job.attempt, alive, new Date());
    if (marked === 0) return { reason: 'no live proplet was registered' };
    if (marked === false) {
      log.info('start dropped: the task changed state while proplets were chosen');
      return 'dropped';
    }
    try {
      await this.publisher.publishStart(buildBroadcastStartMessage({ ...task, state: TaskState.Running }));
    } catch (error) {
      if (error instanceof NotConnectedError) {
        await this.tasks.revertDispatch(task.id, job.attempt);
        log.warn('broadcast start not published: broker unreachable; will try again');
        return { reason: 'the start command could not be published (broker unreachable)' };
      }
      throw error;
    }
    const dispatchMs = Date.now() - job.requestedAt;
    taskDispatchLatency.observe(dispatchMs / 1000);
    const now = await this.tasks.runState(task.id);
    if (!now || now.state !== TaskState.Running || now.attempt !== job.attempt) {
      await this.publisher.publishStop(buildBroadcastStopMessage(task.id));
      log.info('broadcast task stopped while its start was published: stop sent again');
    }
    await this.armTimeout(task, job.attempt);
    log.info({ proplets: marked, dispatchMs }, 'broadcast task dispatched');
    return 'dispatched';
  }

  /**
   * Sends one invocation to its proplet, unless its caller has stopped waiting: an invocation nobody waits
   * for would run for nothing.
   */
  async invoke(job: JobData<'task-invoke', 'invoke'>, logger: Logger): Promise<void> {
    const log = logger.child({
      taskId: job.taskId,
      propletId: job.propletId,
      invocationId: job.invocationId,
    });
    if (Date.now() > job.expiresAt) {
      log.info('invocation dropped: its caller stopped waiting');
      return;
    }
    await this.publisher.publishInvoke({
      id: job.taskId,
      broadcast: false,
      proplet_id: job.propletId,
      invocation_id: job.invocationId,
      inputs: job.inputs,
      env: job.env,
    });
    log.info('invocation published');
  }

  /** Deploys a latent task again, one targeted start per proplet that lacked its module (spec §8.1). */
  async redeploy(job: JobData<'task-invoke', 'redeploy'>, logger: Logger): Promise<void> {
    const log = logger.child({ taskId: job.taskId, attempt: job.attempt });
    const task = await this.tasks.findById(job.taskId);
    if (!task || task.attempt !== job.attempt || task.state !== TaskState.Running || !task.latent) {
      log.info('re-deploy dropped: the task is no longer that deployed run');
      return;
    }
    for (const propletId of job.propletIds)
      await this.publisher.publishStart(buildRedeployMessage(task, propletId));
    log.info({ proplets: job.propletIds }, 'latent task deployed again');
  }

  private async giveUp(
    job: JobData<'task-start', 'start'>,
    error: string,
    log: Logger,
    why = 'start timed out',
  ): Promise<void> {
    const failed = await this.tasks.finish(job.taskId, TRANSITIONS.giveUpStart.from, {
      state: TRANSITIONS.giveUpStart.to,
      error,
      finishTime: new Date(),
    });
    if (failed) {
      log.warn({ error }, why);
      await queueAdvanceOrWarn(this.queues, failed, log);
    }
  }
}
