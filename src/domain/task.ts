import type { TaskState } from './task-state.ts';

/** Upstream's monitoring profile: the Rust proplet requires all ten fields, `interval` in seconds. */
export interface MonitoringProfile {
  enabled: boolean;
  interval: number;
  collect_cpu: boolean;
  collect_memory: boolean;
  collect_disk_io: boolean;
  collect_threads: boolean;
  collect_file_descriptors: boolean;
  export_to_mqtt: boolean;
  retain_history: boolean;
  history_size: number;
}

/** A task as the services see it; the file is raw bytes, redacted only when it leaves the API. */
export interface Task {
  id: string;
  name: string;
  kind: string;
  state: TaskState;
  imageUrl: string | null;
  /** The Wasm bytes; null when there are none, or when the row was read without them (see filePreview). */
  file: Uint8Array | null;
  fileSize: number;
  /** The redacted file, when the row was read without its bytes. */
  filePreview?: string | undefined;
  cliArgs: string[] | null;
  inputs: string[] | null;
  env: Record<string, string> | null;
  daemon: boolean;
  latent: boolean;
  encrypted: boolean;
  kbsResourcePath: string | null;
  /** The proplet the user asked for at create; the scheduler must honour it. */
  requestedPropletId: string | null;
  /** The proplet that runs or last ran the task. */
  propletId: string | null;
  dependsOn: string[] | null;
  runIf: string | null;
  workflowId: string | null;
  jobId: string | null;
  results: unknown;
  error: string | null;
  monitoringProfile: MonitoringProfile | null;
  mode: string | null;
  schedule: string | null;
  isRecurring: boolean;
  timezone: string | null;
  nextRun: Date | null;
  broadcast: boolean;
  priority: number;
  metadata: Record<string, unknown> | null;
  halStoragePath: string | null;
  /** Seconds a run may take before the manager stops it (null: MANAGER_TASK_TIMEOUT, or no limit). */
  timeoutSeconds: number | null;
  /**
   * Retries after the first run that infrastructure failures (and, with retryOnError, Wasm errors) may
   * cost; null: MANAGER_TASK_MAX_RETRIES.
   */
  maxRetries: number | null;
  retryOnError: boolean;
  /** Retries spent since the task was last started. */
  retries: number;
  /** Place in the list of the workflow or job it was created with. */
  position: number | null;
  attempt: number;
  startTime: Date | null;
  finishTime: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export type NewTask = Omit<
  Task,
  | 'id'
  | 'state'
  | 'propletId'
  | 'results'
  | 'error'
  | 'attempt'
  | 'retries'
  | 'startTime'
  | 'finishTime'
  | 'createdAt'
  | 'updatedAt'
  | 'nextRun'
  | 'filePreview'
  | 'fileSize'
>;
