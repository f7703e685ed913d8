import type { JobsOptions } from 'bullmq';
import { z } from 'zod';

/**
 * Every queue, every job name on it, its payload schema and its default options. Workers register one
 * handler per job name of their queue; a missing handler is a compile error.
 */
const startJob = z.object({
  taskId: z.guid(),
  attempt: z.number().int().positive(),
  /** When the start was accepted (ms); the start timeout counts from here. */
  requestedAt: z.number().int().nonnegative(),
});

/** A stop for the proplet holding the task, or (broadcast) one stop that every proplet takes. */
const stopJob = z.union([
  z.object({ taskId: z.guid(), propletId: z.string().min(1) }),
  z.object({ taskId: z.guid(), broadcast: z.literal(true) }),
]);

/** A run's time is up: stop it and fail the task, unless it finished or another run began meanwhile. */
const expireJob = z.object({
  taskId: z.guid(),
  attempt: z.number().int().positive(),
  limitMs: z.number().int().positive(),
});

/** One attempt of an invocation, on one proplet; published only while its waiter still waits. */
const invokeJob = z.object({
  taskId: z.guid(),
  propletId: z.string().min(1),
  invocationId: z.guid(),
  inputs: z.array(z.string()),
  env: z.record(z.string(), z.string()).optional(),
  /** ms since the epoch; past this the waiter has given up, so the invocation is not sent. */
  expiresAt: z.number().int().nonnegative(),
});

/** Deploys a latent task again on proplets that lack its module (spec §8.1). */
const redeployJob = z.object({
  taskId: z.guid(),
  attempt: z.number().int().positive(),
  propletIds: z.array(z.string().min(1)).min(1),
});

const invokeResultJob = z.object({
  taskId: z.string().min(1),
  invocationId: z.string().min(1),
  propletId: z.string().min(1).optional(),
  results: z.string(),
  error: z.string().nullable(),
});

const resultJob = z.object({
  taskId: z.guid(),
  propletId: z.string().min(1).optional(),
  results: z.unknown(),
  error: z.string().nullable(),
  receivedAt: z.number().int().nonnegative(),
});

const discoveryJob = z.object({
  propletId: z.string().min(1),
  metadata: z.record(z.string(), z.unknown()),
  receivedAt: z.number().int().nonnegative(),
});

const beat = z.object({ propletId: z.string().min(1), receivedAt: z.number().int().nonnegative() });
/** Heartbeats travel in batches gathered by the ingress (see HeartbeatBatcher). */
const heartbeatsJob = z.object({ beats: z.array(beat).min(1) });

/** A task of this workflow or job finished: its dependents may run now, or be skipped. */
const advanceJob = z.object({
  group: z.enum(['workflow', 'job']),
  id: z.guid(),
});

const metricsObject = z.record(z.string(), z.number());
/** A sample as the ingress read it; `at` is when it was taken (ms), or received when it did not say. */
const taskMetricsSample = z.object({
  taskId: z.guid(),
  propletId: z.string().min(1),
  metrics: metricsObject,
  aggregated: metricsObject.optional(),
  at: z.number().int().nonnegative(),
});
const propletMetricsSample = z.object({
  propletId: z.string().min(1),
  namespace: z.string(),
  cpu: metricsObject,
  memory: metricsObject,
  at: z.number().int().nonnegative(),
});
/** Metrics samples travel in batches gathered by the ingress, as heartbeats do. */
const metricsSamplesJob = z.object({
  task: z.array(taskMetricsSample),
  proplet: z.array(propletMetricsSample),
});

/** One firing of a task's cron schedule, produced by its BullMQ job scheduler. */
const cronTickJob = z.object({ taskId: z.guid() });

const keepCompleted = { age: 3_600, count: 1_000 };
const keepFailed = { age: 7 * 24 * 3_600 };

export const QUEUE_CATALOG = {
  'task-start': {
    jobs: { start: startJob },
    // Waiting for a proplet does not consume attempts (see retryLater); attempts cover infrastructure errors.
    options: {
      attempts: 12,
      backoff: { type: 'exponential', delay: 500 },
      removeOnComplete: keepCompleted,
      removeOnFail: keepFailed,
    },
  },
  // A tick that cannot start its task records why on the task; attempts cover infrastructure errors only.
  'task-cron': {
    jobs: { tick: cronTickJob },
    options: {
      attempts: 5,
      backoff: { type: 'exponential', delay: 1_000 },
      removeOnComplete: keepCompleted,
      removeOnFail: keepFailed,
    },
  },
  'task-stop': {
    jobs: { stop: stopJob, expire: expireJob },
    options: {
      attempts: 20,
      backoff: { type: 'exponential', delay: 500 },
      removeOnComplete: keepCompleted,
      removeOnFail: keepFailed,
    },
  },
  'task-invoke': {
    jobs: { invoke: invokeJob, redeploy: redeployJob },
    // An invocation is worth sending only while its caller waits: a few quick tries, nothing kept.
    options: {
      attempts: 5,
      backoff: { type: 'fixed', delay: 200 },
      removeOnComplete: true,
      removeOnFail: { count: 1_000 },
    },
  },
  'task-results': {
    jobs: { result: resultJob, 'invoke-result': invokeResultJob },
    options: {
      attempts: 20,
      backoff: { type: 'exponential', delay: 250 },
      removeOnComplete: keepCompleted,
      removeOnFail: keepFailed,
    },
  },
  'group-progress': {
    jobs: { advance: advanceJob, sweep: z.object({}) },
    options: {
      attempts: 20,
      backoff: { type: 'exponential', delay: 250 },
      removeOnComplete: keepCompleted,
      removeOnFail: keepFailed,
    },
  },
  'proplet-liveness': {
    jobs: { discovery: discoveryJob, heartbeats: heartbeatsJob, offline: beat, sweep: z.object({}) },
    // Heartbeats are many and worthless once applied: keep none.
    options: {
      attempts: 5,
      backoff: { type: 'exponential', delay: 200 },
      removeOnComplete: true,
      removeOnFail: { count: 1_000 },
    },
  },
  // Periodic, so a failed round is simply the next round's work.
  maintenance: {
    jobs: { reconcile: z.object({}) },
    options: {
      attempts: 1,
      backoff: { type: 'fixed', delay: 1_000 },
      removeOnComplete: true,
      removeOnFail: { count: 100 },
    },
  },
  metrics: {
    jobs: { samples: metricsSamplesJob, prune: z.object({}) },
    // Samples are many and periodic: keep none once written, and few that failed.
    options: {
      attempts: 5,
      backoff: { type: 'exponential', delay: 200 },
      removeOnComplete: true,
      removeOnFail: { count: 100 },
    },
  },
} as const satisfies Record<string, { jobs: Record<string, z.ZodType>; options: JobsOptions }>;

export type QueueName = keyof typeof QUEUE_CATALOG;
export type JobName<Q extends QueueName> = keyof (typeof QUEUE_CATALOG)[Q]['jobs'] & string;
export type JobData<Q extends QueueName, N extends JobName<Q>> = z.infer<
  (typeof QUEUE_CATALOG)[Q]['jobs'][N] & z.ZodType
>;

export const QUEUE_NAMES = Object.keys(QUEUE_CATALOG) as QueueName[];

export type TaskMetricsSample = z.infer<typeof taskMetricsSample>;
export type PropletMetricsSample = z.infer<typeof propletMetricsSample>;
export type MetricsSamples = z.infer<typeof metricsSamplesJob>;

/** Deterministic ids: a repeated request or a redelivered message never adds a second job. */
export const jobIds = {
  start: (taskId: string, attempt: number) => `start-${taskId}-${attempt}`,
  stop: (taskId: string, attempt: number) => `stop-${taskId}-${attempt}`,
  expire: (taskId: string, attempt: number) => `expire-${taskId}-${attempt}`,
  invoke: (invocationId: string) => `invoke-${invocationId}`,
  /** One re-deploy at a time per run; completed ones are not kept, so a later one may follow. */
  redeploy: (taskId: string, attempt: number) => `redeploy-${taskId}-${attempt}`,
};

/** One BullMQ job scheduler per task: its ticks get ids of their own (`repeat:<scheduler>:<time>`). */
export const schedulerIds = {
  cron: (taskId: string) => `cron-${taskId}`,
};
