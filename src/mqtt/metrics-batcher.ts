import type { MetricsSamples, PropletMetricsSample, TaskMetricsSample } from '../queue/catalog.ts';
import { Batcher, type BatcherOptions } from './batcher.ts';

export type MetricsSample = { task: TaskMetricsSample } | { proplet: PropletMetricsSample };

export interface MetricsBatcherOptions extends Omit<BatcherOptions<MetricsSample>, 'what' | 'flush'> {
  flush: (samples: MetricsSamples) => Promise<void>;
}

/** Task and proplet metrics samples in batches (see Batcher), both kinds in one job. */
export class MetricsBatcher extends Batcher<MetricsSample> {
  constructor({ flush, ...options }: MetricsBatcherOptions) {
    super({
      ...options,
      what: 'metrics samples',
      flush: (samples) =>
        flush({
          task: samples.flatMap((sample) => ('task' in sample ? [sample.task] : [])),
          proplet: samples.flatMap((sample) => ('proplet' in sample ? [sample.proplet] : [])),
        }),
    });
  }
}
