import { randomUUID } from 'node:crypto';
import type { TaskPatch, TaskRepository } from '../db/task-repository.ts';
import { ConflictError, NotFoundError, UnavailableError, ValidationError } from '../domain/errors.ts';
import type { NewTask, Task } from '../domain/task.ts';
import { stateName, TaskState, TRANSITIONS } from '../domain/task-state.ts';
import type { Logger } from '../observability/logger.ts';
import { jobIds } from '../queue/catalog.ts';
import type { JobQueues } from '../queue/job-queues.ts';
import type { StoppedRuns } from '../coordination/stopped-runs.ts';

export const STOPPED_BY_USER = 'stopped by user';

/** Why a task cannot be started, or undefined when it can: a proplet would otherwise drop the start silently. */
export function startProblem(task: Task): string | undefined {
  const hasFile = task.fileSize > 0;
  const hasImage = task.imageUrl !== null && task.imageUrl !== '';
  if (task.encrypted) {
    if (!hasImage) return 'an encrypted task needs an image_url';
    if (hasFile) return 'an encrypted task takes its Wasm from image_url only; remove file';
    return undefined;
  }
  if (!hasFile && !hasImage)
    return 'the task has neither file nor image_url: upload a .wasm file or set image_url';
  return undefined;
}

/** Use cases on tasks, as the HTTP API offers them. */
export class TaskService {
  constructor(
    private readonly tasks: TaskRepository,
    private readonly queues: JobQueues,
    private readonly stoppedRuns: StoppedRuns,
    private readonly logger: Logger,
  ) {}

  create(task: NewTask): Promise<Task> {
    return this.tasks.insert({ ...task, id: randomUUID() });
  }

  async get(id: string): Promise<Task> {
    const task = await this.tasks.findSummary(id);
    if (!task) throw new NotFoundError(`task ${id} not found`);
    return task;
  }

  list(page: {
    offset: number;
    limit: number;
    metadata?: Record<string, unknown>;
  }): Promise<{ tasks: Task[]; total: number }> {
    return this.tasks.list(page);
  }

  /**
   * Changes the fields sent, in any state, as upstream does: a running task keeps running what it was given;
   * the change applies to its next run.
   */
  async update(id: string, patch: TaskPatch): Promise<Task> {
    const task = await this.tasks.update(id, patch);
    if (!task) throw new NotFoundError(`task ${id} not found`);
    return task;
  }

  async delete(id: string): Promise<void> {
    const deleted = await this.tasks.delete(id);
    if (!deleted) throw new NotFoundError(`task ${id} not found`);
    if (deleted.state === TaskState.Running && deleted.broadcast) {
      await this.queues
        .enqueue(
          'task-stop',
          'stop',
          { taskId: id, broadcast: true },
          { jobId: jobIds.stop(id, deleted.attempt) },
        )
        .catch((error: unknown) =>
          this.logger.warn({ taskId: id, err: error }, 'could not queue the stop of a deleted task'),
        );
    } else if (deleted.state === TaskState.Running && deleted.propletId) {
      await this.queues
        .enqueue(
          'task-stop',
          'stop',
          { taskId: id, propletId: deleted.propletId },
          { jobId: jobIds.stop(id, deleted.attempt) },
        )
        .catch((error: unknown) =>
          this.logger.warn({ taskId: id, err: error }, 'could not queue the stop of a deleted task'),
        );
    } else if (deleted.state === TaskState.Scheduled) {
      // The scheduler drops a start whose task is gone; removing the job only saves it the lookup.
      await this.queues.remove('task-start', jobIds.start(id, deleted.attempt)).catch(() => false);
    }
  }

  /** Validates, marks the task Scheduled and queues its start (Decision 4): no proplet needs to be alive now. */
  async start(id: string): Promise<void> {
    const task = await this.get(id);
    const problem = startProblem(task);
    if (problem) throw new ValidationError(problem);

    const now = new Date();
    const scheduled = await this.tasks.schedule(id, now);
    if (!scheduled) {
      const current = await this.get(id);
      throw new ConflictError(`task ${id} is already ${stateName(current.state).toLowerCase()}`);
    }
    try {
      await this.queues.enqueue(
        'task-start',
        'start',
        { taskId: id, attempt: scheduled.attempt, requestedAt: now.getTime() },
        { jobId: jobIds.start(id, scheduled.attempt) },
      );
    } catch (error) {
      await this.tasks.unschedule(id, scheduled.attempt);
      this.logger.error({ taskId: id, err: error }, 'could not queue a start');
      throw new UnavailableError('the task queue is unavailable; the task was not started, try again');
    }
    this.logger.info({ taskId: id, attempt: scheduled.attempt }, 'task scheduled');
  }

  /**
   * Stops a task at once (Decision 7): a running task gets a stop command and ends Failed; a scheduled one
   * is withdrawn from the queue. Retries when the task changed state underneath (it was dispatched meanwhile).
   */
  async stop(id: string): Promise<void> {
    for (let round = 0; round < 3; round++) {
      const task = await this.get(id);
      const outcome = { error: STOPPED_BY_USER, finishTime: new Date() };

      if (task.state === TRANSITIONS.stop.from[0] && task.broadcast) {
        if (await this.stopBroadcast(task, outcome)) return;
      } else if (task.state === TRANSITIONS.stop.from[0]) {
        if (await this.stopRunning(task, outcome)) return;
      } else if (task.state === TRANSITIONS.withdraw.from[0]) {
        await this.queues.remove('task-start', jobIds.start(id, task.attempt));
        if (
          await this.tasks.finish(id, TRANSITIONS.withdraw.from, {
            ...outcome,
            state: TRANSITIONS.withdraw.to,
          })
        ) {
          this.logger.info({ taskId: id }, 'scheduled task withdrawn');
          return;
        }
      } else {
        throw new ConflictError(`task ${id} is ${stateName(task.state).toLowerCase()}, not running`);
      }
    }
    throw new ConflictError(`task ${id} kept changing state; try again`);
  }

  /**
   * Marks the run as stopped (its proplet's last report on it is to be ignored), sends the stop, and fails
   * the task if that proplet still holds it. False when the task changed meanwhile.
   */
  private async stopRunning(task: Task, outcome: { error: string; finishTime: Date }): Promise<boolean> {
    const propletId = task.propletId;
    if (propletId) {
      await this.stoppedRuns.mark(task.id, propletId);
      try {
        await this.queues.enqueue(
          'task-stop',
          'stop',
          { taskId: task.id, propletId },
          { jobId: jobIds.stop(task.id, task.attempt) },
        );
      } catch (error) {
        await this.stoppedRuns.unmark(task.id, propletId).catch(() => undefined);
        throw error;
      }
    }
    const stopped = await this.tasks.finish(
      task.id,
      TRANSITIONS.stop.from,
      { ...outcome, state: TRANSITIONS.stop.to },
      propletId ?? undefined,
    );
    if (stopped) {
      this.logger.info({ taskId: task.id, propletId }, 'task stopped');
    } else if (propletId) {
      // The run ended by itself meanwhile: its report was the one just applied, not one still to come.
      await this.stoppedRuns.unmark(task.id, propletId);
    }
    return stopped;
  }

  /**
   * Stops a running broadcast task: one stop that every proplet takes, a stopped-run mark for each proplet
   * still holding it (its last report is to be ignored), and the task failed with every pin released.
   */
  private async stopBroadcast(task: Task, outcome: { error: string; finishTime: Date }): Promise<boolean> {
    const holders = await this.tasks.holders(task.id);
    await Promise.all(holders.map((propletId) => this.stoppedRuns.mark(task.id, propletId)));
    const unmark = (propletIds: string[]) =>
      Promise.all(propletIds.map((propletId) => this.stoppedRuns.unmark(task.id, propletId)));
    try {
      await this.queues.enqueue(
        'task-stop',
        'stop',
        { taskId: task.id, broadcast: true },
        { jobId: jobIds.stop(task.id, task.attempt) },
      );
    } catch (error) {
      await unmark(holders).catch(() => undefined);
      throw error;
    }
    const released = await this.tasks.finishReleasingAll(task.id, TRANSITIONS.stop.from, {
      ...outcome,
      state: TRANSITIONS.stop.to,
    });
    // Proplets that reported meanwhile were released by their report: no later one is to be ignored.
    await unmark(holders.filter((propletId) => !released?.includes(propletId)));
    if (released) this.logger.info({ taskId: task.id, proplets: released.length }, 'broadcast task stopped');
    return released !== undefined;
  }

  async results(id: string): Promise<unknown> {
    const task = await this.get(id);
    return task.results ?? null;
  }
}
