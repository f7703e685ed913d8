import type { TaskRepository } from '../db/task-repository.ts';
import { nextRun } from '../domain/cron-schedule.ts';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { JobData } from '../queue/catalog.ts';
import type { CronRegistry } from './cron-registry.ts';
import type { TaskService } from './task-service.ts';

/**
 * What a cron tick does (spec §2.8, without upstream's endless retries): starts the task as
 * `POST /tasks/{id}/start` does, with its priority; skips the tick while the previous run is still scheduled
 * or running; records a refused start on the task; then moves next_run on, or, for a one-shot that started,
 * clears the schedule and removes its job scheduler.
 */
export class CronTickService {
  constructor(
    private readonly tasks: TaskRepository,
    private readonly taskService: TaskService,
    private readonly registry: CronRegistry,
  ) {}

  /** Infrastructure errors propagate: the tick job's own attempts retry them. */
  async tick(job: JobData<'task-cron', 'tick'>, logger: Logger): Promise<void> {
    const log = logger.child({ taskId: job.taskId });
    const task = await this.tasks.findSummary(job.taskId);
    if (!task?.schedule) {
      // Deleted or unscheduled while its job scheduler lived on (its removal failed): remove it now.
      await this.registry.unregister(job.taskId);
      log.info('tick dropped: the task is gone or has no schedule; its job scheduler is removed');
      return;
    }
    const fired = task.schedule;
    let refused: string | undefined;
    let started = false;
    try {
      await this.taskService.start(task.id);
      started = true;
      log.info({ schedule: fired, recurring: task.isRecurring }, 'cron tick started the task');
    } catch (error) {
      if (error instanceof ConflictError) {
        log.info({ state: task.state }, 'cron tick skipped: the previous run has not finished');
      } else if (error instanceof ValidationError || error instanceof NotFoundError) {
        refused = `scheduled start refused: ${error.message}`;
        log.warn({ error: error.message }, 'cron tick could not start the task');
      } else {
        throw error;
      }
    }

    // A one-shot that did not start (skipped or refused) keeps its schedule: it runs at the next match.
    const done = !task.isRecurring && started;
    const stillFired = await this.tasks.afterTick(task.id, fired, {
      nextRun: done ? null : nextRun(fired, task.timezone, new Date()),
      clearSchedule: done,
      ...(refused === undefined ? {} : { error: refused }),
    });
    // A PUT that changed the schedule meanwhile registered its own scheduler, under the same id: keep it.
    if (done && stillFired) {
      await this.registry.unregister(task.id);
      log.info('one-shot schedule fired: schedule cleared, job scheduler removed');
    }
  }
}
