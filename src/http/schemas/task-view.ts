import { redactFile } from '../../domain/file-redaction.ts';
import type { Task } from '../../domain/task.ts';

/** Go's zero time: upstream emits it for timestamps that are not set, and its clients expect a time. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

const time = (value: Date | null) => (value ? value.toISOString() : ZERO_TIME);

const ifSet = <T>(value: T | null | undefined): T | undefined =>
  value === null || value === undefined || value === '' ? undefined : value;

/** The task as upstream clients read it (spec §1.6): numeric state, redacted file, omitted empty fields. */
export function toTaskJson(task: Task): Record<string, unknown> {
  return {
    id: task.id,
    name: task.name,
    kind: task.kind,
    state: task.state,
    image_url: ifSet(task.imageUrl),
    file: task.filePreview ?? redactFile(task.file),
    cli_args: task.cliArgs && task.cliArgs.length > 0 ? task.cliArgs : null,
    inputs: task.inputs && task.inputs.length > 0 ? task.inputs : undefined,
    env: task.env && Object.keys(task.env).length > 0 ? task.env : undefined,
    daemon: task.daemon,
    latent: task.latent || undefined,
    encrypted: task.encrypted,
    kbs_resource_path: ifSet(task.kbsResourcePath),
    proplet_id: ifSet(task.propletId) ?? ifSet(task.requestedPropletId),
    depends_on: task.dependsOn && task.dependsOn.length > 0 ? task.dependsOn : undefined,
    run_if: ifSet(task.runIf),
    workflow_id: ifSet(task.workflowId),
    job_id: ifSet(task.jobId),
    // A run may legitimately print nothing: an empty string is a result, only null is none.
    results: task.results ?? undefined,
    error: ifSet(task.error),
    monitoring_profile: ifSet(task.monitoringProfile),
    start_time: time(task.startTime),
    finish_time: time(task.finishTime),
    created_at: time(task.createdAt),
    updated_at: time(task.updatedAt),
    next_run: time(task.nextRun),
    mode: ifSet(task.mode),
    schedule: ifSet(task.schedule),
    is_recurring: task.isRecurring || undefined,
    timezone: ifSet(task.timezone),
    broadcast: task.broadcast || undefined,
    priority: task.priority,
    metadata: ifSet(task.metadata),
    hal_storage_path: ifSet(task.halStoragePath),
    timeout: task.timeoutSeconds ?? undefined,
    attempt: task.attempt,
    max_retries: task.maxRetries ?? undefined,
    retry_on_error: task.retryOnError || undefined,
    retries: task.retries,
  };
}
