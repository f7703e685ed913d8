import { z } from 'zod';
import { identifier } from '../domain/identifiers.ts';
import { parseMetricTimestamp } from './metric-timestamp.ts';

/** Proplet ids are MQTT client ids: sane identifiers, so a hostile payload cannot bloat keys and rows. */
const propletId = identifier;

const optionalText = z
  .string()
  .nullish()
  .transform((value) => value ?? undefined);

/** Upstream reads total_memory_bytes as 0 for want of float parsing; we keep the number. */
const byteCount = z
  .union([z.number(), z.string().regex(/^\d+$/).transform(Number)])
  .pipe(z.number().nonnegative().finite())
  .nullish()
  .transform((value) => value ?? undefined);

export const discoveryPayload = z.object({
  proplet_id: propletId,
  namespace: optionalText,
  metadata: z
    .object({
      description: optionalText,
      tags: z
        .array(z.string())
        .nullish()
        .transform((value) => value ?? undefined),
      location: optionalText,
      ip: optionalText,
      environment: optionalText,
      os: optionalText,
      hostname: optionalText,
      cpu_arch: optionalText,
      total_memory_bytes: byteCount,
      proplet_version: optionalText,
      wasm_runtime: optionalText,
    })
    .nullish()
    .transform((value) => value ?? {}),
});

export const heartbeatPayload = z.object({
  proplet_id: propletId,
  status: optionalText,
  namespace: optionalText,
});

export const resultPayload = z.object({
  // Task ids are UUIDs: anything else cannot name a task.
  task_id: z.guid(),
  proplet_id: propletId.optional(),
  results: z.unknown().optional(),
  error: z.string().nullish(),
});

/** More keys than any proplet sends: a metrics object beyond it is hostile or broken, not a sample. */
export const MAX_METRIC_KEYS = 32;

/** Counted before anything else is looked at, so a huge object is refused without validating each key. */
const boundedObject = z
  .record(z.string(), z.unknown(), { message: 'must be a JSON object' })
  .refine((value) => Object.keys(value).length <= MAX_METRIC_KEYS, {
    message: `must have at most ${MAX_METRIC_KEYS} keys`,
  });

const metricNumber = z.number({ message: 'must be a number' }).finite();

/** Rust writes an absent Option as null; such a metric is left out, as if it had not been sent. */
const numericMetrics = boundedObject
  .pipe(z.record(z.string().min(1).max(64), metricNumber.nullable()))
  .transform(
    (metrics) =>
      Object.fromEntries(Object.entries(metrics).filter(([, value]) => value !== null)) as Record<
        string,
        number
      >,
  );

/** Upstream reads a missing figure as 0; so do we, so that every sample has the same shape. */
const figure = metricNumber.nullish().transform((value) => value ?? 0);
const optionalFigure = metricNumber.nullish().transform((value) => value ?? undefined);

/** When the sample was taken (ms); undefined when absent or unreadable: the receive time stands in. */
const sampleTime = z.unknown().transform(parseMetricTimestamp).optional();

export const taskMetricsPayload = z.object({
  task_id: z.guid(),
  proplet_id: propletId,
  metrics: numericMetrics,
  aggregated: numericMetrics.nullish().transform((value) => value ?? undefined),
  timestamp: sampleTime,
});

export const propletMetricsPayload = z.object({
  proplet_id: propletId,
  namespace: z
    .string()
    .max(255)
    .nullish()
    .transform((value) => value ?? ''),
  timestamp: sampleTime,
  // Keys other than these are dropped: only what the API shows is stored.
  cpu_metrics: boundedObject.pipe(
    z.object({ user_seconds: figure, system_seconds: figure, percent: figure }),
  ),
  memory_metrics: boundedObject.pipe(
    z.object({
      rss_bytes: figure,
      heap_alloc_bytes: figure,
      heap_sys_bytes: figure,
      heap_inuse_bytes: figure,
      container_usage_bytes: optionalFigure,
      container_limit_bytes: optionalFigure,
    }),
  ),
});

/**
 * An invocation's answer (spec §3.3.8). The manager names tasks and invocations with UUIDs: an answer with
 * any other invocation_id can reach no waiter.
 */
export const invokeResultPayload = z.object({
  task_id: z.guid(),
  invocation_id: z.guid(),
  proplet_id: propletId.optional(),
  results: z.string().nullish(),
  error: z.string().nullish(),
});

export type DiscoveryPayload = z.infer<typeof discoveryPayload>;
export type HeartbeatPayload = z.infer<typeof heartbeatPayload>;
export type ResultPayload = z.infer<typeof resultPayload>;
export type TaskMetricsPayload = z.infer<typeof taskMetricsPayload>;
export type PropletMetricsPayload = z.infer<typeof propletMetricsPayload>;
export type InvokeResultPayload = z.infer<typeof invokeResultPayload>;

/** Drops keys whose value is undefined, so stored metadata omits what the proplet did not send. */
export function compactMetadata(metadata: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(metadata).filter(([, value]) => value !== undefined));
}
