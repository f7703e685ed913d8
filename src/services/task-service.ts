import { randomUUID } from 'node:crypto';
import type { TaskPatch, TaskRepository } from '../db/task-repository.ts';
import { nextRun } from '../domain/cron-schedule.ts';
import { ConflictError, NotFoundError, UnavailableError, ValidationError } from '../domain/errors.ts';
import type { NewTask, Task } from '../domain/task.ts';
import { isTerminal, stateName, TaskState, TRANSITIONS } from '../domain/task-state.ts';
import type { Logger } from '../observability/logger.ts';
import { jobIds } from '../queue/catalog.ts';
import type { JobQueues } from '../queue/job-queues.ts';
import type { StoppedRuns } from '../coordination/stopped-runs.ts';
import type { GroupRepository } from '../db/group-repository.ts';
import { groupOf } from '../domain/group.ts';
import type { ExecutionMode } from '../domain/progression.ts';
import { queueAdvanceOrWarn, queueStart } from './task-queueing.ts';
import type { CronRegistry } from './cron-registry.ts';
import type { RunRecovery } from './run-recovery.ts';
import type { AttemptRepository } from '../db/attempt-repository.ts';
import type { RetryReason } from '../db/task-repository.ts';
import { AttemptOutcome, type TaskAttempt } from '../domain/task-attempt.ts';
import type { StartMessageLimit } from './start-message-limit.ts';

export const STOPPED_BY_USER = 'stopped by user';

/** Why a task cannot be started, or undefined when it can: a proplet would otherwise drop the start silently. */
export function startProblem(task: Pick<Task, 'encrypted' | 'fileSize' | 'imageUrl'>): string | undefined {
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
    private readonly groups: GroupRepository,
    private readonly logger: Logger,
    private readonly defaultExecutionMode: ExecutionMode,
    private readonly cron: CronRegistry,
    private readonly recovery: RunRecovery,
    private readonly attemptHistory: AttemptRepository,
    private readonly startLimit: StartMessageLimit,
  ) {}

  /**
   * A task created on its own may join a workflow or job and depend on tasks already there; a job named only
   * here is recorded, so that it is listed. A task with a schedule is registered with the queue before it is
   * returned, or not created at all.
   */
  async create(task: NewTask): Promise<Task> {
    this.startLimit.check(task, task.file?.length ?? 0);
    const group = groupOf(task);
    if (task.dependsOn) {
      if (!group) throw new ValidationError('invalid task: depends_on needs a workflow_id or a job_id');
      const found = await this.groups.existingIn(group, task.dependsOn);
      const missing = task.dependsOn.filter((id) => !found.has(id));
      if (missing.length > 0)
        throw new ValidationError(
          `invalid task: depends_on: ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not in its ${group.kind}`,
        );
    }
    if (group?.kind === 'job') await this.groups.ensureJob(group.id, this.defaultExecutionMode);
    const id = randomUUID();
    const next = task.schedule ? nextRun(task.schedule, task.timezone, new Date()) : null;
    const created = await this.tasks.insert({ ...task, id, nextRun: next });
    if (created.schedule) {
      try {
        await this.cron.register({ id, schedule: created.schedule, timezone: created.timezone });
      } catch (error) {
        await this.tasks.delete(id);
        this.logger.error({ taskId: id, err: error }, 'could not register a cron schedule');
        throw new UnavailableError('the task queue is unavailable; the task was not created, try again');
      }
    }
    return created;
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
    await this.checkStartStillFits(id, patch);
    const touchesSchedule =
      patch.schedule !== undefined || patch.timezone !== undefined || patch.isRecurring !== undefined;
    if (!touchesSchedule) {
      const task = await this.tasks.update(id, patch);
      if (!task) throw new NotFoundError(`task ${id} not found`);
      return task;
    }
    const current = await this.get(id);
    const schedule = patch.schedule === undefined ? current.schedule : patch.schedule;
    const timezone = patch.timezone ?? current.timezone;
    const task = await this.tasks.update(id, {
      ...patch,
      nextRun: schedule ? nextRun(schedule, timezone, new Date()) : null,
    });
    if (!task) throw new NotFoundError(`task ${id} not found`);
    // is_recurring alone changes nothing in the queue: each tick reads it from the task.
    if (patch.schedule === undefined && patch.timezone === undefined) return task;
    try {
      if (task.schedule) await this.cron.register({ id, schedule: task.schedule, timezone: task.timezone });
      else await this.cron.unregister(id);
    } catch (error) {
      this.logger.error({ taskId: id, err: error }, 'could not register a changed cron schedule');
      throw new UnavailableError(
        'the schedule was saved but the task queue is unavailable; send the update again (a scheduler also registers it when it starts)',
      );
    }
    this.logger.info(
      { taskId: id, schedule: task.schedule, timezone: task.timezone },
      'cron schedule changed',
    );
    return task;
  }

  /** A change to what the start command carries must leave it small enough for a proplet. */
  private async checkStartStillFits(id: string, patch: TaskPatch): Promise<void> {
    const { file, name, inputs, env, cliArgs, imageUrl } = patch;
    if ([file, name, inputs, env, cliArgs, imageUrl].every((field) => field === undefined)) return;
    const current = await this.get(id);
    const changed = Object.fromEntries(
      Object.entries({ name, inputs, env, cliArgs, imageUrl }).filter(([, v]) => v !== undefined),
    );
    this.startLimit.check({ ...current, ...changed }, file?.length ?? current.fileSize);
  }

  async delete(id: string): Promise<void> {
    const deleted = await this.tasks.delete(id);
    if (!deleted) throw new NotFoundError(`task ${id} not found`);
    if (deleted.schedule) {
      // If this fails, the scheduler's next tick finds no task and removes itself.
      await this.cron
        .unregister(id)
        .catch((error: unknown) =>
          this.logger.warn(
            { taskId: id, err: error },
            'could not remove the cron schedule of a deleted task',
          ),
        );
    }
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
    // Its dependents, if any, will never see it finish: they are skipped.
    await queueAdvanceOrWarn(this.queues, deleted, this.logger);
  }

  /** Validates, marks the task Scheduled and queues its start (Decision 4): no proplet needs to be alive now. */
  async start(id: string): Promise<void> {
    const task = await this.get(id);
    const problem = startProblem(task);
    if (problem) throw new ValidationError(problem);
    await this.requireParentsFinished(task);

    const now = new Date();
    const scheduled = await this.tasks.schedule(id, now);
    if (!scheduled) {
      const current = await this.get(id);
      throw new ConflictError(`task ${id} is already ${stateName(current.state).toLowerCase()}`);
    }
    try {
      await queueStart(this.queues, { id, attempt: scheduled.attempt, priority: task.priority }, now);
    } catch (error) {
      await this.tasks.unschedule(id, scheduled.attempt, scheduled.previous);
      this.logger.error({ taskId: id, err: error }, 'could not queue a start');
      throw new UnavailableError('the task queue is unavailable; the task was not started, try again');
    }
    this.logger.info({ taskId: id, attempt: scheduled.attempt, priority: task.priority }, 'task scheduled');
  }

  /** A task that depends on others runs after them (upstream: a 500 "has unmet dependencies"). */
  private async requireParentsFinished(task: Task): Promise<void> {
    const group = groupOf(task);
    if (!task.dependsOn || !group) return;
    const parents = (await this.groups.tasksOf(group)).filter((other) => task.dependsOn!.includes(other.id));
    const unfinished = parents.filter((parent) => !isTerminal(parent.state)).map((parent) => parent.id);
    if (unfinished.length > 0)
      throw new ConflictError(
        `task ${task.id} has unmet dependencies: ${unfinished.join(', ')} not finished`,
      );
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
        const withdrawn = await this.tasks.finish(id, TRANSITIONS.withdraw.from, {
          ...outcome,
          state: TRANSITIONS.withdraw.to,
        });
        if (withdrawn) {
          this.logger.info({ taskId: id }, 'scheduled task withdrawn');
          await queueAdvanceOrWarn(this.queues, withdrawn, this.logger);
          return;
        }
      } else {
        throw new ConflictError(`task ${id} is ${stateName(task.state).toLowerCase()}, not running`);
      }
    }
    throw new ConflictError(`task ${id} kept changing state; try again`);
  }

  /**
   * Ends a run that outlived its time limit as a stop does, and runs the task again while it has retries
   * left, or fails it saying so; nothing when the run finished meanwhile, or another one began.
   */
  async expire(id: string, attempt: number, limitMs: number): Promise<boolean> {
    for (let round = 0; round < 3; round++) {
      const task = await this.tasks.findSummary(id);
      if (!task || task.attempt !== attempt || task.state !== TaskState.Running) return false;
      const why = `timed out after ${limitMs / 1_000} s`;
      const retry = this.recovery.decide(task, 'timed_out', why);
      const outcome = {
        error: this.recovery.finalError(task, 'timed_out', why),
        finishTime: new Date(),
        attemptOutcome: AttemptOutcome.TimedOut,
      };
      const ended = task.broadcast
        ? await this.stopBroadcast(task, outcome)
        : await this.stopRunning(task, outcome, retry);
      if (ended) {
        this.logger.warn({ taskId: id, attempt, limitMs, retried: retry !== undefined }, 'task timed out');
        return true;
      }
    }
    return false;
  }

  /**
   * Marks the run as stopped (its proplet's last report on it is to be ignored), sends the stop, and fails
   * the task if that proplet still holds it, or, given a retry, schedules its next run. False when the task
   * changed meanwhile.
   */
  private async stopRunning(
    task: Task,
    outcome: { error: string; finishTime: Date; attemptOutcome?: AttemptOutcome },
    retry?: RetryReason,
  ): Promise<boolean> {
    const propletId = task.propletId;
    // A deployed latent task has no run to report on: its proplet drops the module and says nothing.
    const reportExpected = !task.latent;
    if (propletId) {
      if (reportExpected) await this.stoppedRuns.mark(task.id, propletId);
      try {
        await this.queues.enqueue(
          'task-stop',
          'stop',
          { taskId: task.id, propletId },
          { jobId: jobIds.stop(task.id, task.attempt) },
        );
      } catch (error) {
        if (reportExpected) await this.stoppedRuns.unmark(task.id, propletId).catch(() => undefined);
        throw error;
      }
    }
    if (retry) {
      const retried = await this.recovery.retry(task, retry, propletId ?? undefined, this.logger);
      // Not retried: the run ended by itself meanwhile, and its report was the one just applied.
      if (!retried && propletId && reportExpected) await this.stoppedRuns.unmark(task.id, propletId);
      return retried;
    }
    const stopped = await this.tasks.finish(
      task.id,
      TRANSITIONS.stop.from,
      { attemptOutcome: AttemptOutcome.Stopped, ...outcome, state: TRANSITIONS.stop.to },
      propletId ?? undefined,
    );
    if (stopped) {
      this.logger.info({ taskId: task.id, propletId }, 'task stopped');
      await queueAdvanceOrWarn(this.queues, stopped, this.logger);
    } else if (propletId && reportExpected) {
      // The run ended by itself meanwhile: its report was the one just applied, not one still to come.
      await this.stoppedRuns.unmark(task.id, propletId);
    }
    return stopped !== undefined;
  }

  /**
   * Stops a running broadcast task: one stop that every proplet takes, a stopped-run mark for each proplet
   * still holding it (its last report is to be ignored), and the task failed with every pin released.
   */
  private async stopBroadcast(
    task: Task,
    outcome: { error: string; finishTime: Date; attemptOutcome?: AttemptOutcome },
  ): Promise<boolean> {
    // As for a targeted latent task, a latent broadcast task's proplets say nothing when stopped.
    const holders = task.latent ? [] : await this.tasks.holders(task.id);
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
      attemptOutcome: AttemptOutcome.Stopped,
      ...outcome,
      state: TRANSITIONS.stop.to,
    });
    // Proplets that reported meanwhile were released by their report: no later one is to be ignored.
    await unmark(holders.filter((propletId) => !released?.includes(propletId)));
    if (released) {
      this.logger.info({ taskId: task.id, proplets: released.length }, 'broadcast task stopped');
      await queueAdvanceOrWarn(this.queues, task, this.logger);
    }
    return released !== undefined;
  }

  /** Every run of the task, oldest first; 404 for an unknown task. */
  async attempts(id: string): Promise<TaskAttempt[]> {
    const history = await this.attemptHistory.list(id);
    if (history.length === 0 && !(await this.tasks.exists(id)))
      throw new NotFoundError(`task ${id} not found`);
    return history;
  }

  async results(id: string): Promise<unknown> {
    const task = await this.get(id);
    return task.results ?? null;
  }
}
