import { randomUUID } from 'node:crypto';
import { graphProblem } from '../domain/dag.ts';
import { PayloadTooLargeError, ValidationError } from '../domain/errors.ts';
import type { NewTask } from '../domain/task.ts';
import type { StartMessageLimit } from './start-message-limit.ts';

/** A task of a POST /workflows or POST /jobs body: it may carry its own id, for others to depend on. */
export interface GroupTaskInput {
  id?: string | undefined;
  task: NewTask;
}

/**
 * Gives the tasks of a new workflow or job their ids, list positions and group id, and checks their
 * dependencies form a valid graph among themselves, and that each could be started (see StartMessageLimit).
 * The group id is the first one a task names, else new.
 */
export function assembleGroup(
  inputs: readonly GroupTaskInput[],
  kind: 'workflow' | 'job',
  startLimit: StartMessageLimit,
): { groupId: string; tasks: Array<NewTask & { id: string }> } {
  for (const [index, { task }] of inputs.entries()) {
    const problem = startLimit.problem(task, task.file?.length ?? 0);
    if (problem) throw new PayloadTooLargeError(`invalid ${kind}: tasks.${index}: ${problem}`);
  }
  const other = kind === 'job' ? 'workflow_id' : 'job_id';
  const mixed = inputs.findIndex((input) => (kind === 'job' ? input.task.workflowId : input.task.jobId));
  if (mixed >= 0)
    throw new ValidationError(
      `invalid ${kind}: tasks.${mixed}: ${other}: a task belongs to a workflow or to a job, not both`,
    );
  const named = inputs.find((input) => (kind === 'job' ? input.task.jobId : input.task.workflowId));
  const groupId = (kind === 'job' ? named?.task.jobId : named?.task.workflowId) ?? randomUUID();
  const tasks = inputs.map((input, position) => ({
    ...input.task,
    id: input.id ?? randomUUID(),
    position,
    ...(kind === 'job' ? { jobId: groupId } : { workflowId: groupId }),
  }));
  const problem = graphProblem(tasks);
  if (problem) throw new ValidationError(`invalid ${kind}: ${problem}`);
  return { groupId, tasks };
}
