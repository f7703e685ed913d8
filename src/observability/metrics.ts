import { collectDefaultMetrics, Counter, Histogram, Registry, Summary } from 'prom-client';

/**
 * The process's Prometheus series that events move: requests, jobs, MQTT messages, task latencies. They
 * are defined once per process, wherever the code emitting them runs, and `/metrics` shows them together
 * with the state gauges read at scrape time (prometheus-state.ts). Labels are bounded sets (route
 * patterns, queue and job names, topic kinds), never ids.
 */
export const registry = new Registry();

let defaultMetricsOn = false;

/** Node's process metrics (CPU, memory, event loop, GC), once per process however many exporters ask. */
export function enableDefaultMetrics(): void {
  if (defaultMetricsOn) return;
  defaultMetricsOn = true;
  collectDefaultMetrics({ register: registry });
}

/** Seconds, from a millisecond up to the longest a request may wait (an invocation: 30 s by default). */
const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Seconds; a start may wait for a live proplet up to MANAGER_START_TIMEOUT (10 minutes by default). */
const DISPATCH_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600];
/** Seconds; a run lasts as long as its Wasm does, from milliseconds to hours. */
const END_TO_END_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
const JOB_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export const httpRequests = new Counter({
  name: 'propeller_http_requests_total',
  help: 'HTTP requests answered, by method, route pattern (unmatched: no route) and status code',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [registry],
});

export const httpRequestDuration = new Histogram({
  name: 'propeller_http_request_duration_seconds',
  help: 'Time from a request arriving to its response finishing, by method, route pattern and status code',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: REQUEST_BUCKETS,
  registers: [registry],
});

/** Upstream's series, under its names and labels, so that dashboards made for upstream keep working. */
export const upstreamRequestCount = new Counter({
  name: 'manager_api_request_count',
  help: 'Number of API requests received, by upstream operation name (as upstream Propeller counts them)',
  labelNames: ['method'] as const,
  registers: [registry],
});

/** Upstream observed seconds under this name; here the values are the microseconds the name promises. */
export const upstreamRequestLatency = new Summary({
  name: 'manager_api_request_latency_microseconds',
  help: 'Total duration of API requests in microseconds, by upstream operation name',
  labelNames: ['method'] as const,
  percentiles: [0.5, 0.9, 0.99],
  // As upstream's go-kit summary: quantiles over the last ten minutes.
  maxAgeSeconds: 600,
  ageBuckets: 5,
  registers: [registry],
});

export const queueJobsProcessed = new Counter({
  name: 'propeller_queue_jobs_processed_total',
  help: 'Queue jobs handled by this process, by queue, job name and outcome (completed; retried: failed, will run again; delayed: put back to wait, e.g. for a live proplet; failed: for good)',
  labelNames: ['queue', 'job', 'outcome'] as const,
  registers: [registry],
});

export const queueJobDuration = new Histogram({
  name: 'propeller_queue_job_duration_seconds',
  help: 'Time a worker of this process spent on one run of a job, by queue and job name',
  labelNames: ['queue', 'job'] as const,
  buckets: JOB_BUCKETS,
  registers: [registry],
});

export const taskDispatchLatency = new Histogram({
  name: 'propeller_task_dispatch_seconds',
  help: 'Time from a start being accepted (a retry: from when it was due) to the start command being published to a proplet',
  buckets: DISPATCH_BUCKETS,
  registers: [registry],
});

export const taskEndToEndLatency = new Histogram({
  name: 'propeller_task_end_to_end_seconds',
  help: 'Time from a start being accepted (a retry: from when it was due) to the run result being applied, by outcome (completed, failed)',
  labelNames: ['outcome'] as const,
  buckets: END_TO_END_BUCKETS,
  registers: [registry],
});

export const mqttMessagesIn = new Counter({
  name: 'propeller_mqtt_messages_in_total',
  help: 'MQTT messages received by the ingress, by topic (the suffix after m/{tenant}/c/{channel}/)',
  labelNames: ['topic'] as const,
  registers: [registry],
});

export const mqttMessagesOut = new Counter({
  name: 'propeller_mqtt_messages_out_total',
  help: 'MQTT commands published and acknowledged by the broker, by topic (the suffix after m/{tenant}/c/{channel}/)',
  labelNames: ['topic'] as const,
  registers: [registry],
});

export const mqttPublishFailures = new Counter({
  name: 'propeller_mqtt_publish_failures_total',
  help: 'MQTT commands that could not be published or were not acknowledged in time, by topic',
  labelNames: ['topic'] as const,
  registers: [registry],
});

export const mqttMessagesRejected = new Counter({
  name: 'propeller_mqtt_rejected_payloads_total',
  help: 'MQTT messages from proplet topics dropped, by topic and reason (too_large, not_json, too_deep, schema, bad_id: the ingress; unknown_proplet, unknown_task, not_holder: the workers)',
  labelNames: ['topic', 'reason'] as const,
  registers: [registry],
});
