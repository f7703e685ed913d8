import { z } from 'zod';
import type {
  MetricsPage,
  MetricsRepository,
  PropletMetricsRow,
  TaskMetricsRow,
} from '../db/metrics-repository.ts';
import type { PropletRepository } from '../db/proplet-repository.ts';
import type { TaskRepository } from '../db/task-repository.ts';
import { NotFoundError } from '../domain/errors.ts';
import { keepNewestPerOwner } from '../domain/metrics-retention.ts';
import type { Logger } from '../observability/logger.ts';
import type { MetricsSamples } from '../queue/catalog.ts';
import { PROPLET_TOPICS } from '../mqtt/topics.ts';
import type { RejectedPayloads } from '../observability/rejected-payloads.ts';

export interface MetricsBounds {
  retentionMs: number;
  /** Per task and per proplet. */
  maxSamples: number;
}

/** Task and proplet metrics samples: recorded from batches, read newest first, kept within their bounds. */
export class MetricsService {
  constructor(
    private readonly metrics: MetricsRepository,
    private readonly bounds: MetricsBounds,
    private readonly logger: Logger,
    /** Where reads look up the owner first, and writes drop samples of unknown ones. */
    private readonly owners?: { tasks: TaskRepository; proplets: PropletRepository },
    /** Counts the samples dropped for an unknown owner; needed where samples are recorded. */
    private readonly rejected?: RejectedPayloads,
  ) {}

  /**
   * Samples of a proplet never registered, or of a task that does not exist, would be served to no one
   * (both reads answer 404) and, sent under made-up ids, could fill the tables: they are dropped and counted.
   * One query per owner kind and batch.
   */
  private async ofKnownOwners(samples: MetricsSamples): Promise<MetricsSamples> {
    if (!this.owners) return samples;
    const propletIds = [...samples.task, ...samples.proplet].map((sample) => sample.propletId);
    const [proplets, tasks] = await Promise.all([
      this.owners.proplets.existing([...new Set(propletIds)]),
      this.owners.tasks.existing([...new Set(samples.task.map((sample) => sample.taskId))]),
    ]);
    const drop = (topic: string, reason: 'unknown_proplet' | 'unknown_task', id: string) => {
      this.rejected?.record(topic, reason, reason === 'unknown_task' ? { taskId: id } : { propletId: id });
      return false;
    };
    return {
      task: samples.task.filter((sample) =>
        !proplets.has(sample.propletId)
          ? drop(PROPLET_TOPICS.taskMetrics, 'unknown_proplet', sample.propletId)
          : tasks.has(sample.taskId) || drop(PROPLET_TOPICS.taskMetrics, 'unknown_task', sample.taskId),
      ),
      proplet: samples.proplet.filter(
        (sample) =>
          proplets.has(sample.propletId) ||
          drop(PROPLET_TOPICS.propletMetrics, 'unknown_proplet', sample.propletId),
      ),
    };
  }

  /** Writes one batch, at most the newest `maxSamples` of each owner from it. */
  async record(batch: MetricsSamples): Promise<void> {
    const samples = await this.ofKnownOwners(batch);
    const { maxSamples } = this.bounds;
    const task = keepNewestPerOwner(
      samples.task,
      (s) => s.taskId,
      (s) => s.at,
      maxSamples,
    );
    const proplet = keepNewestPerOwner(
      samples.proplet,
      (s) => s.propletId,
      (s) => s.at,
      maxSamples,
    );
    await this.metrics.insert({
      task: task.map((sample): TaskMetricsRow => ({
        taskId: sample.taskId,
        propletId: sample.propletId,
        metrics: sample.metrics,
        aggregated: sample.aggregated ?? null,
        timestamp: new Date(sample.at),
      })),
      proplet: proplet.map((sample): PropletMetricsRow => ({
        propletId: sample.propletId,
        namespace: sample.namespace,
        cpuMetrics: sample.cpu,
        memoryMetrics: sample.memory,
        timestamp: new Date(sample.at),
      })),
    });
  }

  /** Deletes what is older than the retention or beyond the newest `maxSamples` of its owner. */
  async prune(now = Date.now()): Promise<void> {
    const deleted = await this.metrics.prune(new Date(now - this.bounds.retentionMs), this.bounds.maxSamples);
    if (deleted.task + deleted.proplet > 0) this.logger.debug(deleted, 'metrics samples pruned');
  }

  /**
   * Newest first. An unknown task is 404 (Decision 2; upstream answers an empty page); task ids are UUIDs,
   * so another id names none.
   */
  async taskMetrics(
    taskId: string,
    page: MetricsPage,
  ): Promise<{ metrics: TaskMetricsRow[]; total: number }> {
    if (!z.guid().safeParse(taskId).success || !(await this.owners?.tasks.exists(taskId)))
      throw new NotFoundError(`task ${taskId} not found`);
    return this.metrics.taskMetrics(taskId, page);
  }

  /** Newest first; an unknown proplet is 404, as for tasks. */
  async propletMetrics(
    propletId: string,
    page: MetricsPage,
  ): Promise<{ metrics: PropletMetricsRow[]; total: number }> {
    if (!(await this.owners?.proplets.exists(propletId)))
      throw new NotFoundError(`proplet ${propletId} not found`);
    return this.metrics.propletMetrics(propletId, page);
  }
}
