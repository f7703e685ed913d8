import { z } from 'zod';
import { EXECUTION_MODES } from '../../domain/progression.ts';
import { AttemptOutcome } from '../../domain/task-attempt.ts';

/**
 * The bodies the API answers with, for the OpenAPI document. The views (*-view.ts and the routes) are plain
 * functions, so these are written by hand: keep each next to what its view emits. They are strict on
 * purpose: the tests parse real responses with them, so a field a view gains or loses without its schema
 * following fails a test instead of drifting.
 */

/** RFC 3339 as toISOString writes it; Go's zero time (0001-01-01T00:00:00Z) stands for "not set". */
const time = z.iso.datetime();
const count = z.int().min(0);
const uuid = z.guid();
const taskState = z
  .int()
  .min(0)
  .max(6)
  .describe('0 Pending, 1 Scheduled, 2 Running, 3 Completed, 4 Failed, 5 Skipped, 6 Interrupted');
const jsonObject = z.record(z.string(), z.unknown());

export const errorBody = z
  .strictObject({ error: z.string().describe('What went wrong; a bad field is named') })
  .describe('The error envelope of every error response');

const monitoringProfile = z.strictObject({
  enabled: z.boolean(),
  interval: z.number().describe('Seconds between samples'),
  collect_cpu: z.boolean(),
  collect_memory: z.boolean(),
  collect_disk_io: z.boolean(),
  collect_threads: z.boolean(),
  collect_file_descriptors: z.boolean(),
  export_to_mqtt: z.boolean(),
  retain_history: z.boolean(),
  history_size: z.number(),
});

/** toTaskJson (task-view.ts): fields that are not set are left out. */
export const taskBody = z.strictObject({
  id: uuid,
  name: z.string(),
  kind: z.enum(['standard', 'federated']),
  state: taskState,
  image_url: z.string().optional(),
  file: z
    .string()
    .optional()
    .describe('The inline module, redacted: the first and last 10 base64 characters around <REDACTED>'),
  cli_args: z.array(z.string()).nullable(),
  inputs: z.array(z.string()).optional(),
  env: z.record(z.string(), z.string()).optional(),
  daemon: z.boolean(),
  latent: z.literal(true).optional(),
  encrypted: z.boolean(),
  kbs_resource_path: z.string().optional(),
  proplet_id: z
    .string()
    .optional()
    .describe('The proplet running it (or that ran it, or that it is pinned to)'),
  depends_on: z.array(uuid).optional(),
  run_if: z.enum(['success', 'failure']).optional(),
  workflow_id: uuid.optional(),
  job_id: uuid.optional(),
  results: z
    .unknown()
    .optional()
    .describe('What the run produced; for a broadcast task, an object keyed by proplet id'),
  error: z.string().optional(),
  monitoring_profile: monitoringProfile.optional(),
  start_time: time,
  finish_time: time,
  created_at: time,
  updated_at: time,
  next_run: time.describe('Next occurrence of the schedule'),
  mode: z.enum(['infer', 'train']).optional(),
  schedule: z.string().optional(),
  is_recurring: z.literal(true).optional(),
  timezone: z.string().optional(),
  broadcast: z.literal(true).optional(),
  priority: z.int().min(1).max(100),
  metadata: jsonObject.optional(),
  hal_storage_path: z.string().optional(),
  timeout: z.int().min(1).optional(),
  attempt: count.describe('Runs since it was created; each start and each retry is one'),
  max_retries: count.optional(),
  retry_on_error: z.literal(true).optional(),
  retries: count.describe('Retries spent since it was last started'),
});

const page = { offset: count, limit: count, total: count };

export const taskListBody = z.strictObject({ ...page, tasks: z.array(taskBody) });
/** task-batch-routes.ts: the tasks created, in the order of the request. */
export const taskBatchBody = z.strictObject({ tasks: z.array(taskBody) });

export const taskResultsBody = z.strictObject({
  results: z.unknown().describe('null before the task has a result'),
});

export const startedBody = z.strictObject({ started: z.literal(true) });
export const stoppedBody = z.strictObject({ stopped: z.literal(true) });
export const invokedBody = z.strictObject({ invoked: z.literal(true), results: z.string() });

/** toAttemptJson (attempt-view.ts). */
const attemptBody = z.strictObject({
  attempt: z.int().min(1),
  proplet_id: z.string(),
  started_at: time,
  finished_at: time.optional().describe('Absent while the run goes on'),
  outcome: z.enum(Object.values(AttemptOutcome)),
  error: z.string().optional(),
});

export const attemptsBody = z.strictObject({ task_id: uuid, attempts: z.array(attemptBody) });

/** toTaskMetricsJson and toPropletMetricsJson (metrics-view.ts). */
const numbers = z.record(z.string(), z.number());

export const taskMetricsPageBody = z.strictObject({
  ...page,
  metrics: z.array(
    z.strictObject({
      task_id: uuid,
      proplet_id: z.string(),
      metrics: numbers,
      aggregated: numbers.optional(),
      timestamp: time,
    }),
  ),
});

export const propletMetricsPageBody = z.strictObject({
  ...page,
  metrics: z.array(
    z.strictObject({
      proplet_id: z.string(),
      namespace: z.string(),
      timestamp: time,
      cpu_metrics: numbers.describe('user_seconds, system_seconds, percent'),
      memory_metrics: numbers.describe(
        'rss_bytes, heap_alloc_bytes, heap_sys_bytes, heap_inuse_bytes, container_usage_bytes, container_limit_bytes',
      ),
    }),
  ),
});

/** toPropletJson (proplet-view.ts). */
export const propletBody = z.strictObject({
  id: z.string(),
  name: z.string(),
  task_count: count,
  alive: z.boolean(),
  last_alive_at: time.optional(),
  metadata: jsonObject.describe('What the proplet announced about itself at discovery'),
});

export const propletListBody = z.strictObject({ ...page, proplets: z.array(propletBody) });

export const aliveHistoryBody = z.strictObject({
  ...page,
  history: z.array(time).describe('Heartbeat times, oldest first'),
});

/** propletSdf (proplet-sdf.ts): only its outline; the payloads it describes are in the document itself. */
export const sdfBody = z.strictObject({
  info: z.strictObject({ title: z.string(), version: z.string(), license: z.string() }),
  namespace: z.record(z.string(), z.string()),
  defaultNamespace: z.string(),
  sdfThing: z.strictObject({ Proplet: jsonObject }),
});

/** toWorkflowJson and toJobJson (group-view.ts). */
const groupSpan = { start_time: time, finish_time: time, created_at: time };

export const workflowBody = z.strictObject({
  workflow_id: uuid,
  state: taskState.describe("The tasks' states added up: Failed, else Running, else Completed, else Pending"),
  tasks: z.array(taskBody),
  ...groupSpan,
});

export const workflowCreatedBody = z.strictObject({ workflow_id: uuid, tasks: z.array(taskBody) });

export const jobBody = z.strictObject({
  job_id: uuid,
  name: z.string().optional(),
  execution_mode: z.enum(EXECUTION_MODES),
  state: taskState.describe("The tasks' states added up: Failed, else Running, else Completed, else Pending"),
  tasks: z.array(taskBody),
  ...groupSpan,
});

export const jobListBody = z.strictObject({ ...page, jobs: z.array(jobBody) });
export const jobCreatedBody = z.strictObject({ job_id: uuid, tasks: z.array(taskBody) });
export const jobActionBody = z.strictObject({ message: z.string(), job_id: uuid });

/** health-routes.ts: upstream's document, with the check of each dependency. */
export const healthBody = z.strictObject({
  status: z.enum(['pass', 'fail']),
  version: z.string(),
  commit: z.string(),
  description: z.string(),
  build_time: z.string(),
  instance_id: z.string(),
  checks: z.record(z.string(), z.enum(['pass', 'fail'])).describe('postgres, and redis when there is one'),
});

/** dashboard-routes.ts: tasks by state, every state listed. */
export const dashboardSummaryBody = z.strictObject({
  total: z.number().int().nonnegative(),
  states: z.array(
    z.strictObject({
      state: z.number().int().describe('the numeric state, as tasks carry it'),
      name: z.string().describe('its name: Pending, Scheduled, Running, …'),
      count: z.number().int().nonnegative(),
    }),
  ),
});

/** The OpenAPI document itself, in outline. */
export const openApiBody = z.looseObject({
  openapi: z.string(),
  info: jsonObject,
  paths: jsonObject,
});
