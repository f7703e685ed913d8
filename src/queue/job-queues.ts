import type { JobsOptions, Queue } from 'bullmq';
import type { Logger } from '../observability/logger.ts';
import { QUEUE_CATALOG, QUEUE_NAMES, type JobData, type JobName, type QueueName } from './catalog.ts';
import { createQueue, type QueueConnection } from './queue-connection.ts';

/** Producer side of every queue: typed enqueueing plus the few queue operations the services need. */
export class JobQueues {
  private readonly queues = new Map<QueueName, Queue>();

  constructor(
    private readonly connection: QueueConnection,
    private readonly logger: Logger,
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
    await this.queue(queue).add(name, data, options);
  }

  /** Removes a waiting or delayed job; false when it is active (locked by a worker) or gone. */
  async remove(queue: QueueName, jobId: string): Promise<boolean> {
    const job = await this.queue(queue).getJob(jobId);
    if (!job) return false;
    try {
      await job.remove();
      return true;
    } catch {
      return false;
    }
  }

  /** Wakes delayed jobs at once, e.g. starts waiting for a proplet when one comes alive. */
  async promoteDelayed(queue: QueueName): Promise<void> {
    await this.queue(queue).promoteJobs();
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
    await this.queue(queue).upsertJobScheduler(schedulerId, { every: everyMs }, { name, data });
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
    this.queues.clear();
  }
}
