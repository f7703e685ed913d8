import { randomUUID } from 'node:crypto';
import type { TaskBatchRepository } from '../db/task-batch-repository.ts';
import { PayloadTooLargeError, UnavailableError, ValidationError } from '../domain/errors.ts';
import type { NewTask, Task } from '../domain/task.ts';
import type { Logger } from '../observability/logger.ts';
import type { JobQueues } from '../queue/job-queues.ts';
import type { StartMessageLimit } from './start-message-limit.ts';
import { startJob } from './task-queueing.ts';
import { startProblem } from './task-service.ts';

/**
 * POST /tasks/batch: many tasks created, and started if asked, all or none, at a cost per task far below
 * POST /tasks and POST /tasks/{id}/start: one INSERT and one bulk enqueue for the whole batch. Tasks
 * that need work of their own (a schedule, dependencies, a group) are refused by its body's schema.
 */
export class TaskBatchService {
  constructor(
    private readonly batches: TaskBatchRepository,
    private readonly queues: JobQueues,
    private readonly startLimit: StartMessageLimit,
    private readonly logger: Logger,
  ) {}

  /**
   * Creates the tasks in the order given; with `start`, each Scheduled with its start queued as
   * POST /tasks/{id}/start queues it. When the starts cannot be queued the tasks are deleted again and the
   * caller told to try again (503): the batch is never left created but not started.
   */
  async create(newTasks: readonly NewTask[], { start }: { start: boolean }): Promise<Task[]> {
    this.check(newTasks, start);
    const now = new Date();
    const created = await this.batches.insert(
      newTasks.map((task) => ({ ...task, id: randomUUID() })),
      { now, schedule: start },
    );
    if (!start) {
      this.logger.info({ tasks: created.length }, 'task batch created');
      return created;
    }
    try {
      await this.queues.enqueueBulk(
        'task-start',
        created.map((task) => startJob(task, now)),
      );
    } catch (error) {
      await this.withdraw(created, error);
      throw new UnavailableError(
        'the task queue is unavailable; no task of the batch was created, try again',
      );
    }
    this.logger.info({ tasks: created.length }, 'task batch created and scheduled');
    return created;
  }

  /** Refuses the whole batch for the first task that could not be started (or, with start, is not startable). */
  private check(newTasks: readonly NewTask[], start: boolean): void {
    for (const [index, task] of newTasks.entries()) {
      const tooLarge = this.startLimit.problem(task, task.file?.length ?? 0);
      if (tooLarge) throw new PayloadTooLargeError(`invalid batch: tasks[${index}]: ${tooLarge}`);
      if (!start) continue;
      const problem = startProblem({ ...task, fileSize: task.file?.length ?? 0 });
      if (problem) throw new ValidationError(`invalid batch: tasks[${index}]: ${problem}`);
    }
  }

  /** Undoes a batch whose starts could not be queued; a start the queue took before it failed stands. */
  private async withdraw(created: readonly Task[], cause: unknown): Promise<void> {
    const ids = created.map((task) => task.id);
    try {
      const deleted = await this.batches.deleteUnstarted(ids);
      this.logger.error(
        { tasks: ids.length, deleted, err: cause },
        'could not queue the starts of a task batch; its tasks were deleted',
      );
    } catch (error) {
      this.logger.error(
        { tasks: ids.length, err: cause, deleteError: error },
        'could not queue the starts of a task batch, nor delete its tasks: they stay Scheduled until the reconciler queues them',
      );
    }
  }
}
