import type { Task } from '../../domain/task.ts';
import type { TaskState } from '../../domain/task-state.ts';
import type { JobSummary } from '../../services/job-service.ts';
import { toTaskJson, ZERO_TIME } from './task-view.ts';

const iso = (time: number | undefined) => (time === undefined ? ZERO_TIME : new Date(time).toISOString());

/** Earliest start and latest finish among the tasks, as upstream's job summary reports them. */
function spanOf(tasks: readonly Task[]): { start_time: string; finish_time: string } {
  const starts = tasks.flatMap((task) => (task.startTime ? [task.startTime.getTime()] : []));
  const finishes = tasks.flatMap((task) => (task.finishTime ? [task.finishTime.getTime()] : []));
  return {
    start_time: iso(starts.length > 0 ? Math.min(...starts) : undefined),
    finish_time: iso(finishes.length > 0 ? Math.max(...finishes) : undefined),
  };
}

/** Upstream's job summary (spec §2.6), with the execution mode besides. */
export function toJobJson(job: JobSummary): Record<string, unknown> {
  return {
    job_id: job.id,
    name: job.name || undefined,
    execution_mode: job.executionMode,
    state: job.state,
    tasks: job.tasks.map(toTaskJson),
    ...spanOf(job.tasks),
    created_at: job.createdAt.toISOString(),
  };
}

/** GET /workflows/{id}, which upstream has not: the tasks and the state they add up to. */
export function toWorkflowJson(workflow: {
  workflowId: string;
  state: TaskState;
  tasks: readonly Task[];
}): Record<string, unknown> {
  const created = workflow.tasks.map((task) => task.createdAt.getTime());
  return {
    workflow_id: workflow.workflowId,
    state: workflow.state,
    tasks: workflow.tasks.map(toTaskJson),
    ...spanOf(workflow.tasks),
    created_at: iso(created.length > 0 ? Math.min(...created) : undefined),
  };
}
