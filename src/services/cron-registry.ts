import type { ScheduledTask, TaskRepository } from '../db/task-repository.ts';
import { DEFAULT_TIMEZONE, nextRun } from '../domain/cron-schedule.ts';
import type { Logger } from '../observability/logger.ts';
import { schedulerIds } from '../queue/catalog.ts';
import type { JobQueues } from '../queue/job-queues.ts';

const CRON_QUEUE = 'task-cron';
const SCHEDULER_PREFIX = schedulerIds.cron('');

/**
 * Keeps one BullMQ job scheduler per task with a cron schedule, on the task-cron queue. BullMQ, not a timer
 * in some process, decides when a task is due, so however many scheduler processes run, each tick is one
 * job taken by one of them. Postgres is the source of truth; reconcile() makes the queue match it.
 */
export class CronRegistry {
  constructor(
    private readonly tasks: TaskRepository,
    private readonly queues: JobQueues,
    private readonly logger: Logger,
  ) {}

  async register(task: { id: string; schedule: string; timezone: string | null }): Promise<void> {
    const repeat = { pattern: task.schedule, tz: task.timezone || DEFAULT_TIMEZONE };
    try {
      await this.queues.upsertScheduler(CRON_QUEUE, schedulerIds.cron(task.id), repeat, 'tick', {
        taskId: task.id,
      });
    } catch (error) {
      // Two registrations of one schedule at once (the API's and a starting scheduler's reconciliation)
      // collide on the id of its next tick in BullMQ; the one that lost finds the schedule in place.
      const found = await this.find(task.id).catch(() => undefined);
      if (found?.pattern === repeat.pattern && found.tz === repeat.tz) return;
      throw error;
    }
  }

  /**
   * Ticks every `everyMs` instead of on the task's pattern, so a test sees several ticks in seconds. Not
   * reachable from configuration or the API; the next reconcile() puts the pattern back.
   */
  async registerEvery(taskId: string, everyMs: number): Promise<void> {
    await this.queues.upsertScheduler(CRON_QUEUE, schedulerIds.cron(taskId), { every: everyMs }, 'tick', {
      taskId,
    });
  }

  async unregister(taskId: string): Promise<void> {
    await this.queues.removeScheduler(CRON_QUEUE, schedulerIds.cron(taskId));
  }

  /** The job scheduler of a task, as the queue holds it. */
  async find(taskId: string): Promise<{ pattern?: string; tz?: string; every?: number } | undefined> {
    const wanted = schedulerIds.cron(taskId);
    const found = (await this.queues.schedulers(CRON_QUEUE)).find((scheduler) => scheduler.id === wanted);
    if (!found) return undefined;
    const { id: _id, ...repeat } = found;
    return repeat;
  }

  /**
   * Registers the schedule of every task that has one where the queue lacks it or holds another (Redis may
   * have lost its data, or a registration failed), removes schedulers whose task is gone or unscheduled, and
   * moves next_run values left in the past (the manager was down) to the next occurrence.
   */
  async reconcile(now = new Date()): Promise<{ registered: string[]; removed: string[] }> {
    // Schedulers first: a task created meanwhile is in Postgres before its scheduler is in the queue, so it is
    // either in both lists or in neither, and its fresh scheduler is never taken for a stray one.
    const existing = await this.queues.schedulers(CRON_QUEUE);
    const scheduled = await this.tasks.listScheduled();
    const held = new Map(existing.map((scheduler) => [scheduler.id, scheduler]));
    const registered: string[] = [];
    for (const task of scheduled) {
      const scheduler = held.get(schedulerIds.cron(task.id));
      if (!scheduler || !matches(scheduler, task)) {
        await this.register(task);
        registered.push(task.id);
      }
      if (!task.nextRun || task.nextRun < now)
        await this.tasks.afterTick(task.id, task.schedule, {
          nextRun: nextRun(task.schedule, task.timezone, now),
        });
    }
    const wanted = new Set(scheduled.map((task) => schedulerIds.cron(task.id)));
    const removed: string[] = [];
    for (const { id } of existing) {
      if (!id.startsWith(SCHEDULER_PREFIX) || wanted.has(id)) continue;
      await this.queues.removeScheduler(CRON_QUEUE, id);
      removed.push(id.slice(SCHEDULER_PREFIX.length));
    }
    if (registered.length > 0 || removed.length > 0)
      this.logger.info({ registered, removed }, 'cron schedulers reconciled with Postgres');
    return { registered, removed };
  }
}

function matches(scheduler: { pattern?: string; tz?: string }, task: ScheduledTask): boolean {
  return (
    scheduler.pattern === task.schedule &&
    (scheduler.tz || DEFAULT_TIMEZONE) === (task.timezone || DEFAULT_TIMEZONE)
  );
}
