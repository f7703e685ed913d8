import type { TaskRepository } from '../db/task-repository.ts';
import { TaskState, TRANSITIONS } from '../domain/task-state.ts';
import type { CommandPublisher } from '../mqtt/command-publisher.ts';
import { buildStartMessage, buildStopMessage } from '../mqtt/outbound-payloads.ts';
import type { Logger } from '../observability/logger.ts';
import type { JobData } from '../queue/catalog.ts';
import { retryLater, type RetryLater } from '../queue/queue-worker.ts';
import type { LivenessStore } from '../redis/liveness-store.ts';

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
  ) {}

  async start(job: JobData<'task-start', 'start'>, logger: Logger): Promise<void | RetryLater> {
    const log = logger.child({ taskId: job.taskId, attempt: job.attempt });
    const task = await this.tasks.findById(job.taskId);
    if (!task || task.attempt !== job.attempt) {
      log.info('start dropped: the task was deleted or started again since');
      return;
    }
    if (task.state === TaskState.Running && task.propletId) {
      // This job already marked the task Running, then its worker died before the publish was confirmed.
      // Proplets ignore a start for a task they already run, so sending it again is safe.
      await this.publisher.publishStart(buildStartMessage(task, task.propletId));
      log.info({ propletId: task.propletId }, 'start published again after an interrupted dispatch');
      return;
    }
    if (task.state !== TaskState.Scheduled) {
      log.info({ state: task.state }, 'start dropped: the task is no longer scheduled');
      return;
    }

    const waitedMs = Date.now() - job.requestedAt;
    const remainingMs = this.startTimeoutMs - waitedMs;
    const propletId = task.requestedPropletId
      ? (await this.liveness.isAlive(task.requestedPropletId))
        ? task.requestedPropletId
        : undefined
      : await this.liveness.pickNext();

    if (!propletId) {
      const wanted = task.requestedPropletId ? `proplet ${task.requestedPropletId}` : 'a live proplet';
      if (remainingMs <= 0) {
        await this.giveUp(
          job,
          `no start: ${wanted} was not available within ${formatDuration(this.startTimeoutMs)}`,
          log,
        );
        return;
      }
      log.debug({ waitedMs }, `waiting for ${wanted}`);
      return retryLater(nextRetryDelay(waitedMs, remainingMs));
    }

    const now = new Date();
    if (!(await this.tasks.markDispatched(task.id, job.attempt, propletId, now))) {
      log.info('start dropped: the task changed state while a proplet was chosen');
      return;
    }
    try {
      await this.publisher.publishStart(buildStartMessage({ ...task, state: TaskState.Running }, propletId));
    } catch (error) {
      await this.tasks.revertDispatch(task.id, job.attempt);
      if (remainingMs <= 0) {
        await this.giveUp(
          job,
          `no start: the start command could not be published: ${(error as Error).message}`,
          log,
        );
        return;
      }
      log.warn({ propletId, err: error }, 'start not published; will try again');
      return retryLater(nextRetryDelay(waitedMs, remainingMs));
    }
    log.info({ propletId, dispatchMs: Date.now() - job.requestedAt }, 'task dispatched');
  }

  async stop(job: JobData<'task-stop', 'stop'>, logger: Logger): Promise<void> {
    await this.publisher.publishStop(buildStopMessage(job.taskId, job.propletId));
    logger.info({ taskId: job.taskId, propletId: job.propletId }, 'stop published');
  }

  private async giveUp(job: JobData<'task-start', 'start'>, error: string, log: Logger): Promise<void> {
    const failed = await this.tasks.finish(job.taskId, TRANSITIONS.giveUpStart.from, {
      state: TRANSITIONS.giveUpStart.to,
      error,
      finishTime: new Date(),
    });
    if (failed) log.warn({ error }, 'start timed out');
  }
}
