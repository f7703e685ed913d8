import type { JobsOptions, Queue } from 'bullmq';
import type { Logger } from '../observability/logger.ts';
import { QUEUE_CATALOG, QUEUE_NAMES, type JobData, type JobName, type QueueName } from './catalog.ts';
import { createQueue, type QueueConnection } from './queue-connection.ts';
import { QueueNotReadyError } from './queue-not-ready-error.ts';

export interface JobQueuesOptions {
  /**
   * BullMQ holds a queue's first command until its connection is ready, however long Redis is away. With
   * this, an operation waits at most this long for that, then fails with QueueNotReadyError having sent
   * nothing: for producers a client waits on (the api), not for workers, which should wait.
   */
  readyWithinMs?: number;
}

/** Options of one job (id, priority, delay, …): BullMQ's, named here so that services need not import it. */
export type EnqueueOptions = JobsOptions;

/** The states of jobs that depth() counts, as BullMQ names them. */
export const COUNTED_STATES = [
  'waiting',
  'prioritized',
  'active',
  'delayed',
  'waiting-children',
  'failed',
  'completed',
] as const;
export type CountedState = (typeof COUNTED_STATES)[number];

/** Producer side of every queue: typed enqueueing plus the few queue operations the services need. */
export class JobQueues {
  private readonly queues = new Map<QueueName, Queue>();

  constructor(
    private readonly connection: QueueConnection,
    private readonly logger: Logger,
    private readonly options: JobQueuesOptions = {},
  ) {}

  queue(name: QueueName): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = createQueue(name, this.connection, { defaultJobOptions: QUEUE_CATALOG[name].options });
      // The calls that fail report their errors too; this is the connection's side of the story.
      queue.on('error', (error) => this.logger.warn({ queue: name, err: error }, 'queue connection error'));
      this.queues.set(name, queue);
    }
    return queue;
  }

  /** The queue once its connection is ready, within options.readyWithinMs when that is set. */
  private async ready(name: QueueName): Promise<Queue> {
    const queue = this.queue(name);
    const { readyWithinMs } = this.options;
    if (readyWithinMs === undefined) return queue;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new QueueNotReadyError(name, this.connection.store, readyWithinMs)),
        readyWithinMs,
      );
    });
    try {
      await Promise.race([queue.waitUntilReady(), late]);
    } catch (error) {
      // BullMQ keeps a queue whose set-up failed (Redis went away during it) failed for good: start afresh.
      if (!(error instanceof QueueNotReadyError) && this.queues.get(name) === queue) {
        this.queues.delete(name);
        queue.close().catch(() => undefined);
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return queue;
  }

  /** All queues, for dashboards and health checks. */
  all(): Queue[] {
    return QUEUE_NAMES.map((name) => this.queue(name));
  }

  async enqueue<Q extends QueueName, N extends JobName<Q>>(
    queue: Q,
    name: N,
    data: JobData<Q, N>,
    options: JobsOptions = {},
  ): Promise<void> {
    await (await this.ready(queue)).add(name, data, options);
  }

  /**
   * Adds the jobs in one round trip, all or none: one MULTI on Redis, one statement on Postgres. For many
   * jobs at once (a batch of starts), where one add per job would cost a round trip each.
   */
  async enqueueBulk<Q extends QueueName, N extends JobName<Q>>(
    queue: Q,
    jobs: ReadonlyArray<{ name: N; data: JobData<Q, N>; options?: JobsOptions }>,
  ): Promise<void> {
    if (jobs.length === 0) return;
    await (
      await this.ready(queue)
    ).addBulk(jobs.map((job) => ({ name: job.name, data: job.data, opts: job.options ?? {} })));
  }

  /**
   * Whether the job will still run: waiting, delayed, prioritised or active. False when it is gone,
   * completed or failed for good.
   */
  async isPending(queue: QueueName, jobId: string): Promise<boolean> {
    const job = await this.queue(queue).getJob(jobId);
    if (!job) return false;
    const state = await job.getState();
    return state !== 'completed' && state !== 'failed' && state !== 'unknown';
  }

  /** Removes a waiting or delayed job; false when it is active (locked by a worker) or gone. */
  async remove(queue: QueueName, jobId: string): Promise<boolean> {
    const job = await (await this.ready(queue)).getJob(jobId);
    if (!job) return false;
    try {
      await job.remove();
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Wakes delayed jobs at once, e.g. starts waiting for a proplet when one comes alive, keeping their
   * priorities. On Redis, Queue.promoteJobs appends every job to the plain wait list, which workers take
   * before all prioritised jobs, in delay order: a low-priority start would overtake a high one. There each
   * job is promoted by itself, highest priority first, so a worker already taking jobs meets the high ones
   * first. BullMQ's Postgres backend keeps the priority column on promotion, so one statement does.
   */
  async promoteDelayed(queue: QueueName): Promise<void> {
    if (this.connection.store === 'postgres') {
      await (await this.ready(queue)).promoteJobs();
      return;
    }
    const delayed = await (await this.ready(queue)).getDelayed(0, -1);
    const byPriority = new Map<number, typeof delayed>();
    for (const job of delayed) {
      const priority = job.opts.priority ?? 0;
      byPriority.set(priority, [...(byPriority.get(priority) ?? []), job]);
    }
    // BullMQ takes priority 0 (none) first, then 1, 2, …
    for (const priority of [...byPriority.keys()].sort((a, b) => a - b)) {
      // A job no longer delayed (taken by its own timer, or removed) refuses promotion: nothing to do.
      await Promise.all(byPriority.get(priority)!.map((job) => job.promote().catch(() => undefined)));
    }
  }

  /**
   * Creates or replaces a BullMQ job scheduler: Redis (or Postgres) holds it once however many processes
   * call this, and each tick is one job with an id of its own, taken by one worker.
   */
  async upsertScheduler<Q extends QueueName, N extends JobName<Q>>(
    queue: Q,
    schedulerId: string,
    repeat: { pattern: string; tz: string } | { every: number },
    name: N,
    data: JobData<Q, N>,
  ): Promise<void> {
    const { attempts, backoff, removeOnComplete, removeOnFail } = QUEUE_CATALOG[queue].options;
    await (
      await this.ready(queue)
    ).upsertJobScheduler(schedulerId, repeat, {
      name,
      data,
      opts: { attempts, backoff, removeOnComplete, removeOnFail },
    });
  }

  /** False when there was no such scheduler. */
  async removeScheduler(queue: QueueName, schedulerId: string): Promise<boolean> {
    return (await this.ready(queue)).removeJobScheduler(schedulerId);
  }

  /** Every job scheduler of the queue, with what it repeats on. */
  async schedulers(
    queue: QueueName,
  ): Promise<Array<{ id: string; pattern?: string; tz?: string; every?: number }>> {
    const found = await (await this.ready(queue)).getJobSchedulers(0, -1);
    return found.map((scheduler) => ({
      id: scheduler.key,
      ...(scheduler.pattern ? { pattern: scheduler.pattern } : {}),
      ...(scheduler.tz ? { tz: scheduler.tz } : {}),
      ...(scheduler.every ? { every: Number(scheduler.every) } : {}),
    }));
  }

  /**
   * Runs a job every `everyMs` through a BullMQ job scheduler: however many processes call this, Redis holds
   * one schedule and each tick is one job, taken by one worker.
   */
  async every<Q extends QueueName, N extends JobName<Q>>(
    queue: Q,
    schedulerId: string,
    everyMs: number,
    name: N,
    data: JobData<Q, N>,
  ): Promise<void> {
    await (await this.ready(queue)).upsertJobScheduler(schedulerId, { every: everyMs }, { name, data });
  }

  /**
   * Jobs in each state, per queue, for monitoring: one round trip per queue (a pipeline on Redis, a
   * statement on Postgres), all queues at once.
   */
  async depth(): Promise<Array<{ queue: QueueName; counts: Record<CountedState, number> }>> {
    return Promise.all(
      QUEUE_NAMES.map(async (name) => {
        const counts = await this.queue(name).getJobCounts(...COUNTED_STATES);
        return { queue: name, counts: counts as Record<CountedState, number> };
      }),
    );
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
    this.queues.clear();
  }
}
