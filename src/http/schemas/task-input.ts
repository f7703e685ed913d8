import { z } from 'zod';
import type { TaskPatch } from '../../db/task-repository.ts';
import { cronProblem, normaliseCron, timezoneProblem } from '../../domain/cron-schedule.ts';
import type { NewTask } from '../../domain/task.ts';
import { DEFAULT_PRIORITY } from '../../domain/task-priority.ts';
import { identifierOrEmpty } from '../../domain/identifiers.ts';
import { jsonShapeProblem } from '../../domain/json-shape.ts';
import { monitoringProfileInput } from './monitoring-profile.ts';

import { MAX_RETRIES } from '../../domain/retry-policy.ts';

const METADATA_LIMIT_BYTES = 1024 * 1024;
/**
 * Items in a list (inputs, cli_args, depends_on) or entries of env: more than any run needs (a Wasm
 * function takes at most 1,000 parameters), and a bound on what one task makes every start carry.
 */
const MAX_ITEMS = 1_000;
const MAX_TIMEOUT_SECONDS = 30 * 24 * 3_600;

/** `file` arrives as standard, padded base64 (Go's []byte encoding). */
const base64File = z
  .string()
  .refine((text) => text.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(text), {
    message: 'must be standard base64 (the bytes of a .wasm file)',
  })
  .transform((text) => Buffer.from(text, 'base64'));

/** Upstream clients send inputs as strings; people also send numbers. Both are kept as text. */
export const inputs = z
  .array(z.union([z.string(), z.number().finite().transform(String)]), {
    message: 'must be a list of strings or numbers',
  })
  .max(MAX_ITEMS, `must have at most ${MAX_ITEMS} items`)
  .nullish();

/** Environment variables of a run, names to values. */
export const environment = z
  .record(z.string().max(255, 'names must be at most 255 characters'), z.string(), {
    message: 'must map names to string values',
  })
  .refine((env) => Object.keys(env).length <= MAX_ITEMS, `must have at most ${MAX_ITEMS} entries`)
  .nullish();

const text = (max: number) => z.string().max(max, `must be at most ${max} characters`);

const metadata = z
  .record(z.string(), z.unknown(), { message: 'must be a JSON object' })
  .nullish()
  .refine((value) => value == null || Buffer.byteLength(JSON.stringify(value)) <= METADATA_LIMIT_BYTES, {
    message: 'must be at most 1 MiB of JSON',
  });

/** A 5-field cron expression; empty means none (upstream clients send whole tasks with empty strings). */
const schedule = text(255)
  .nullish()
  .superRefine((value, ctx) => {
    const problem = value && value.trim() !== '' ? cronProblem(value) : undefined;
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** An IANA time zone name; empty means none (UTC). */
const timezone = text(64)
  .nullish()
  .superRefine((value, ctx) => {
    const problem = value && value.trim() !== '' ? timezoneProblem(value.trim()) : undefined;
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const scheduleOrNull = (value: string | null | undefined) =>
  value && value.trim() !== '' ? normaliseCron(value) : null;
const timezoneOrNull = (value: string | null | undefined) =>
  value && value.trim() !== '' ? value.trim() : null;

/** Fields a client may set; server-owned fields (id, state, results, times…) are accepted and ignored. */
const taskFields = z.object({
  name: text(255).optional().describe('For a core module, the export to call'),
  kind: z.enum(['standard', 'federated']).optional(),
  image_url: text(2048).nullish().describe('Where the proplet fetches the Wasm from, when it is not inline'),
  file: z
    .union([z.literal(''), base64File])
    .nullish()
    .describe('The .wasm module inline, as standard padded base64'),
  cli_args: z
    .array(z.string())
    .max(MAX_ITEMS, `must have at most ${MAX_ITEMS} items`)
    .nullish()
    .describe('Command-line arguments of a WASI command'),
  inputs: inputs.describe('Arguments of the exported function; numbers are kept as text'),
  env: environment.describe('Environment variables of the run'),
  daemon: z.boolean().nullish().describe('Runs until stopped; no execution timeout applies'),
  latent: z.boolean().nullish().describe('Start deploys the module; POST /tasks/{id}/invoke runs it'),
  encrypted: z.boolean().nullish().describe('image_url points to an encrypted module'),
  kbs_resource_path: text(2048).nullish().describe('Key broker resource that decrypts it'),
  proplet_id: identifierOrEmpty.nullish().describe('The proplet to run on; waits for it to be alive'),
  depends_on: z
    .array(z.guid())
    .max(MAX_ITEMS, `must have at most ${MAX_ITEMS} items`)
    .nullish()
    .describe('Tasks of the same workflow or job that must finish first'),
  run_if: z
    .enum(['', 'success', 'failure'], { message: "must be 'success' or 'failure'" })
    .nullish()
    .describe('success (the default): every parent completed; failure: at least one failed'),
  workflow_id: z
    .union([z.literal(''), z.guid()])
    .nullish()
    .describe('The workflow to join'),
  job_id: z
    .union([z.literal(''), z.guid()])
    .nullish()
    .describe('The job to join'),
  monitoring_profile: monitoringProfileInput
    .nullish()
    .describe('Sampling of task metrics; missing fields take the standard profile, interval in seconds'),
  mode: z.enum(['', 'infer', 'train']).nullish(),
  schedule: schedule.describe(
    'A 5-field cron expression (minute hour day-of-month month day-of-week); null clears it on update',
  ),
  is_recurring: z.boolean().nullish().describe('The schedule repeats; otherwise it runs once'),
  timezone: timezone.describe('IANA time zone of the schedule (default UTC)'),
  broadcast: z.boolean().nullish().describe('Run on every live proplet; results are kept per proplet'),
  priority: z
    .number()
    .int('must be an integer')
    .min(0)
    .max(100, 'must be from 0 to 100')
    .nullish()
    .describe('Orders starts, highest first; 0 means the default, 50'),
  metadata: metadata.describe('Free JSON object; GET /tasks?metadata= filters by containment'),
  hal_storage_path: text(4096).nullish(),
  /** Not upstream's: seconds a run may take before the manager stops it and fails the task. */
  timeout: z
    .number()
    .int('must be a whole number of seconds')
    .min(1, 'must be at least 1 second')
    .max(MAX_TIMEOUT_SECONDS, `must be at most ${MAX_TIMEOUT_SECONDS} seconds (30 days)`)
    .nullish()
    .describe('Seconds a run may take before it is stopped and retried (default MANAGER_TASK_TIMEOUT)'),
  /** Not upstream's: how many times a lost, timed-out (or, with retry_on_error, failed) run is tried again. */
  max_retries: z
    .number()
    .int('must be a whole number')
    .min(0, 'must be 0 or more')
    .max(MAX_RETRIES, `must be at most ${MAX_RETRIES}`)
    .nullish()
    .describe('Retries of a lost or timed-out run (default MANAGER_TASK_MAX_RETRIES)'),
  retry_on_error: z.boolean().nullish().describe('Retry runs whose Wasm reported an error too'),
});

/**
 * Postgres stores no NUL character in text or JSON, and recursive checks (these schemas', JSON.stringify's)
 * overflow on a value nested deep enough: refuse both up front, naming the field.
 */
const withSafeShape = z.unknown().superRefine((value, ctx) => {
  const problem = jsonShapeProblem(value, { nul: 'refuse' });
  if (problem) ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
});

const emptyToNull = <T>(value: T | '' | null | undefined): T | null =>
  value === undefined || value === null || value === '' ? null : value;

export const createTaskBody = withSafeShape.pipe(
  taskFields
    .extend({
      name: z
        .string({ message: 'required' })
        .trim()
        .min(1, 'missing identity name')
        .max(255)
        .describe('For a core module, the export to call'),
    })
    .refine((body) => !(body.broadcast && body.proplet_id), {
      message: 'broadcast and proplet_id cannot be used together',
      path: ['proplet_id'],
    })
    // Its dependencies would be looked for in one group and its progress announced to the other.
    .refine((body) => !(body.workflow_id && body.job_id), {
      message: 'a task belongs to a workflow or to a job, not both',
      path: ['job_id'],
    })
    .transform((body): NewTask => ({
      name: body.name,
      kind: body.kind ?? 'standard',
      imageUrl: emptyToNull(body.image_url),
      file: body.file && body.file.length > 0 ? body.file : null,
      cliArgs: body.cli_args ?? null,
      inputs: body.inputs ?? null,
      env: body.env ?? null,
      daemon: body.daemon ?? false,
      latent: body.latent ?? false,
      encrypted: body.encrypted ?? false,
      kbsResourcePath: emptyToNull(body.kbs_resource_path),
      requestedPropletId: emptyToNull(body.proplet_id),
      dependsOn: body.depends_on && body.depends_on.length > 0 ? body.depends_on : null,
      runIf: emptyToNull(body.run_if),
      workflowId: emptyToNull(body.workflow_id),
      jobId: emptyToNull(body.job_id),
      monitoringProfile: body.monitoring_profile ?? null,
      mode: emptyToNull(body.mode),
      schedule: scheduleOrNull(body.schedule),
      isRecurring: body.is_recurring ?? false,
      timezone: timezoneOrNull(body.timezone),
      broadcast: body.broadcast ?? false,
      // Upstream treats 0 as "not set".
      priority: body.priority || DEFAULT_PRIORITY,
      metadata: body.metadata ?? null,
      halStoragePath: emptyToNull(body.hal_storage_path),
      timeoutSeconds: body.timeout ?? null,
      maxRetries: body.max_retries ?? null,
      retryOnError: body.retry_on_error ?? false,
      position: null,
    })),
);

/**
 * A partial update. Like upstream, only the fields a client sent with a value are changed, so a client that
 * sends a whole task with empty fields does not wipe anything (in particular not a schedule, Decision 2).
 * Clearing a schedule takes an explicit `"schedule": null`.
 */
export const updateTaskBody = withSafeShape.pipe(
  taskFields.transform((body): TaskPatch => {
    const patch: TaskPatch = {};
    if (body.name && body.name.trim() !== '') patch.name = body.name.trim();
    if (body.inputs) patch.inputs = body.inputs;
    if (body.file && body.file.length > 0) patch.file = body.file;
    if (body.image_url) patch.imageUrl = body.image_url;
    if (body.env) patch.env = body.env;
    if (body.cli_args) patch.cliArgs = body.cli_args;
    if (body.priority) patch.priority = body.priority;
    if (body.metadata) patch.metadata = body.metadata;
    if (typeof body.max_retries === 'number') patch.maxRetries = body.max_retries;
    if (typeof body.retry_on_error === 'boolean') patch.retryOnError = body.retry_on_error;
    if (body.schedule === null) patch.schedule = null;
    else if (body.schedule && body.schedule.trim() !== '') {
      patch.schedule = normaliseCron(body.schedule);
      // Whole-task clients send is_recurring false by default: it counts only next to the schedule it qualifies.
      if (typeof body.is_recurring === 'boolean') patch.isRecurring = body.is_recurring;
    }
    const zone = timezoneOrNull(body.timezone);
    if (zone) patch.timezone = zone;
    return patch;
  }),
);
