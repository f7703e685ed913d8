/** A workflow or a job: the tasks that share its id. */
export interface GroupRef {
  kind: 'workflow' | 'job';
  id: string;
}

/** The workflow or job a task belongs to; the job when it names both, as the job is what runs it. */
export function groupOf(task: { jobId: string | null; workflowId: string | null }): GroupRef | undefined {
  if (task.jobId) return { kind: 'job', id: task.jobId };
  if (task.workflowId) return { kind: 'workflow', id: task.workflowId };
  return undefined;
}
