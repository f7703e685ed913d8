import { z } from 'zod';
import { EXECUTION_MODES } from '../../domain/progression.ts';
import type { GroupTaskInput } from '../../services/group-assembly.ts';
import { documentInputAs } from './documented-input.ts';
import { createTaskBody } from './task-input.ts';
import { describeIssues } from './validation.ts';

/** Enough for any workflow a person writes, and a bound on what one request makes the manager hold. */
const MAX_GROUP_TASKS = 1_000;

/** A task of a workflow or job may bring its own id, so that the others can depend on it. */
const groupTaskId = z.object({
  id: z
    .union([z.literal(''), z.guid('must be a UUID')])
    .nullish()
    .describe('The id the task gets; a new one when absent or empty'),
});

/** Each task validated as POST /tasks validates one, with its own id kept: the others may depend on it. */
const groupTaskFromUnknown = z.unknown().transform((raw, ctx): GroupTaskInput => {
  const id = groupTaskId.safeParse(raw ?? {});
  const task = createTaskBody.safeParse(raw);
  if (!id.success || !task.success) {
    ctx.addIssue({
      code: 'custom',
      message: describeIssues((id.success ? undefined : id.error) ?? task.error!),
    });
    return z.NEVER;
  }
  if (task.data.schedule) {
    // A workflow's or job's task runs when its dependencies let it, not at times of its own.
    ctx.addIssue({ code: 'custom', message: 'schedule: not supported for a task of a workflow or job' });
    return z.NEVER;
  }
  return { id: id.data.id || undefined, task: task.data };
});

// One message naming every problem of a task needs the transform above, which hides the shape from zod.
const groupTask = documentInputAs(
  groupTaskFromUnknown,
  groupTaskId
    .and(createTaskBody)
    .describe('A task as POST /tasks takes it, with the id it is to get, and without a schedule'),
);

const groupTasks = z
  .array(groupTask, { message: 'must be a list of tasks' })
  .min(1, 'must list at least one task')
  .max(MAX_GROUP_TASKS, `must list at most ${MAX_GROUP_TASKS} tasks`);

export const createWorkflowBody = z.object({ tasks: groupTasks });

export const createJobBody = z.object({
  name: z.string().max(255, 'must be at most 255 characters').nullish(),
  tasks: groupTasks,
  execution_mode: z
    .union([
      z.literal(''),
      z.enum(EXECUTION_MODES, { message: `must be one of ${EXECUTION_MODES.join(', ')}` }),
    ])
    .nullish(),
});
