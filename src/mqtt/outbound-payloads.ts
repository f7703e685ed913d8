import { z } from 'zod';
import type { MonitoringProfile, Task } from '../domain/task.ts';

const monitoringProfile = z.object({
  enabled: z.boolean(),
  interval: z.number(),
  collect_cpu: z.boolean(),
  collect_memory: z.boolean(),
  collect_disk_io: z.boolean(),
  collect_threads: z.boolean(),
  collect_file_descriptors: z.boolean(),
  export_to_mqtt: z.boolean(),
  retain_history: z.boolean(),
  history_size: z.number(),
}) satisfies z.ZodType<MonitoringProfile>;

/** The start command (spec §3.3.4), as the upstream Rust proplet decodes it. */
export const startMessage = z.object({
  id: z.string().min(1),
  name: z.string().min(1),
  state: z.number().int(),
  image_url: z.string().optional(),
  file: z.string().optional(),
  inputs: z.array(z.string()).optional(),
  cli_args: z.array(z.string()).nullable(),
  broadcast: z.boolean(),
  daemon: z.boolean(),
  latent: z.boolean(),
  env: z.record(z.string(), z.string()).optional(),
  encrypted: z.boolean(),
  kbs_resource_path: z.string().optional(),
  monitoring_profile: monitoringProfile.optional(),
  proplet_id: z.string().optional(),
  hal_storage_path: z.string().optional(),
  /** Results of the task's Completed parents by id, for a task that depends on others. */
  parent_results: z.record(z.string(), z.unknown()).optional(),
});

/** The stop command (spec §3.3.5). */
export const stopMessage = z.object({
  id: z.string().min(1),
  broadcast: z.boolean(),
  proplet_id: z.string().optional(),
});

export type StartMessage = z.infer<typeof startMessage>;
export type StopMessage = z.infer<typeof stopMessage>;

const nonEmpty = <T>(value: T | null | undefined, isEmpty: (v: T) => boolean): T | undefined =>
  value === null || value === undefined || isEmpty(value) ? undefined : value;

/** What of a task its start command carries. */
export type StartedTask = Pick<
  Task,
  | 'id'
  | 'name'
  | 'state'
  | 'imageUrl'
  | 'file'
  | 'inputs'
  | 'cliArgs'
  | 'daemon'
  | 'latent'
  | 'env'
  | 'encrypted'
  | 'kbsResourcePath'
  | 'monitoringProfile'
  | 'halStoragePath'
>;

/** Builds the start command for one proplet; optional keys are left out when empty, as upstream does. */
export function buildStartMessage(
  task: StartedTask,
  propletId: string,
  parentResults?: Record<string, unknown>,
): StartMessage {
  return {
    id: task.id,
    name: task.name,
    state: task.state,
    image_url: nonEmpty(task.imageUrl, (v) => v === ''),
    file: task.file && task.file.length > 0 ? Buffer.from(task.file).toString('base64') : undefined,
    inputs: nonEmpty(task.inputs, (v) => v.length === 0),
    cli_args: task.cliArgs && task.cliArgs.length > 0 ? task.cliArgs : null,
    broadcast: false,
    daemon: task.daemon,
    latent: task.latent,
    env: nonEmpty(task.env, (v) => Object.keys(v).length === 0),
    encrypted: task.encrypted,
    kbs_resource_path: nonEmpty(task.kbsResourcePath, (v) => v === ''),
    monitoring_profile: task.monitoringProfile ?? undefined,
    proplet_id: propletId,
    hal_storage_path: nonEmpty(task.halStoragePath, (v) => v === ''),
    parent_results: parentResults,
  };
}

export function buildStopMessage(taskId: string, propletId: string): StopMessage {
  return { id: taskId, broadcast: false, proplet_id: propletId };
}

/** The start of a broadcast task: no proplet_id, so every proplet runs it (spec §3.3.4, rule 2). */
export function buildBroadcastStartMessage(task: StartedTask): StartMessage {
  const { proplet_id: _none, ...message } = buildStartMessage(task, '');
  return { ...message, broadcast: true };
}

/** The stop of a broadcast task, once for all its proplets (spec §3.3.5). */
export function buildBroadcastStopMessage(taskId: string): StopMessage {
  return { id: taskId, broadcast: true };
}

/**
 * A targeted latent start that deploys the module again on one proplet, for an invocation that found it
 * missing there (spec §8.1).
 */
export function buildRedeployMessage(task: Task, propletId: string): StartMessage {
  return { ...buildStartMessage(task, propletId), broadcast: false, daemon: false, latent: true };
}

/** Standard padded base64 of `bytes` bytes. */
const base64Length = (bytes: number) => 4 * Math.ceil(bytes / 3);

/**
 * Bytes of the JSON of a task's start command, for a file of `fileBytes` bytes, without encoding the file
 * (megabytes of it): its base64 goes between the quotes of an empty `file`, and base64 needs no escaping.
 * `to` is the proplet it goes to, or broadcast.
 */
export function startMessageBytes(
  task: Omit<StartedTask, 'file'>,
  fileBytes: number,
  to: { propletId: string } | 'broadcast',
  parentResults?: Record<string, unknown>,
): number {
  const withoutFile = { ...task, file: null };
  const message =
    to === 'broadcast'
      ? buildBroadcastStartMessage(withoutFile)
      : buildStartMessage(withoutFile, to.propletId, parentResults);
  if (fileBytes === 0) return Buffer.byteLength(JSON.stringify(message));
  return Buffer.byteLength(JSON.stringify({ ...message, file: '' })) + base64Length(fileBytes);
}

/** The invoke command (spec §3.3.7). */
export const invokeMessage = z.object({
  id: z.string().min(1),
  broadcast: z.boolean(),
  proplet_id: z.string().min(1),
  invocation_id: z.string().min(1),
  inputs: z.array(z.string()),
  env: z.record(z.string(), z.string()).optional(),
});

export type InvokeMessage = z.infer<typeof invokeMessage>;
