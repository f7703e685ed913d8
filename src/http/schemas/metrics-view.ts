import type { PropletMetricsRow, TaskMetricsRow } from '../../db/metrics-repository.ts';

/** A task metrics sample as upstream clients read it (spec §2.9). */
export function toTaskMetricsJson(sample: TaskMetricsRow): Record<string, unknown> {
  return {
    task_id: sample.taskId,
    proplet_id: sample.propletId,
    metrics: sample.metrics,
    aggregated: sample.aggregated ?? undefined,
    timestamp: sample.timestamp.toISOString(),
  };
}

/** A proplet metrics sample as upstream clients read it (spec §1.5.1). */
export function toPropletMetricsJson(sample: PropletMetricsRow): Record<string, unknown> {
  return {
    proplet_id: sample.propletId,
    namespace: sample.namespace,
    timestamp: sample.timestamp.toISOString(),
    cpu_metrics: sample.cpuMetrics,
    memory_metrics: sample.memoryMetrics,
  };
}
