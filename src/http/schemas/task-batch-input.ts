import { z } from 'zod';
import { describePath } from '../../domain/json-shape.ts';
import type { NewTask } from '../../domain/task.ts';
import { documentInputAs } from './documented-input.ts';
import { createTaskBody } from './task-input.ts';

/**
 * Tasks in one POST /tasks/batch: what one transaction and one bulk enqueue take in well under a second, and
 * a bound on what one request makes the manager hold (with MANAGER_HTTP_MAX_BODY on its bytes).
 */
export const MAX_BATCH_TASKS = 1_000;

/** Elements named in one error message: enough to fix a client, not a message of a thousand lines. */
const SHOWN_PROBLEMS = 5;

/**
 * Fields a batch refuses, with why: each needs work per task that a batch does not do (a cron schedule is
 * registered with the queue; a dependency, a workflow or a job is looked up or created). POST /tasks takes
 * all of them, POST /workflows and POST /jobs create whole groups.
 */
const PER_TASK_FIELDS: ReadonlyArray<{ field: string; set: (task: NewTask) => boolean; why: string }> = [
  {
    field: 'schedule',
    set: (task) => task.schedule !== null,
    why: 'not taken in a batch (each schedule is registered with the queue on its own); create the task with POST /tasks',
  },
  {
    field: 'depends_on',
    set: (task) => task.dependsOn !== null,
    why: 'not taken in a batch (its tasks join no workflow or job); create dependent tasks with POST /workflows or POST /jobs',
  },
  {
    field: 'workflow_id',
    set: (task) => task.workflowId !== null,
    why: 'not taken in a batch (its tasks join no workflow); create the task with POST /tasks, or the workflow with POST /workflows',
  },
  {
    field: 'job_id',
    set: (task) => task.jobId !== null,
    why: 'not taken in a batch (its tasks join no job); create the task with POST /tasks, or the job with POST /jobs',
  },
];

/** Unset, null or false: created only; true: each started as POST /tasks/{id}/start starts one. */
const start = z
  .boolean({ message: 'must be true or false' })
  .nullish()
  .describe('Start every task once created, as POST /tasks/{id}/start does (default false)');

const taskList = z
  .array(z.unknown(), { message: 'must be a list of tasks' })
  .min(1, 'must list at least one task')
  .max(MAX_BATCH_TASKS, `must list at most ${MAX_BATCH_TASKS} tasks`);

/** The task, or its problems named by its place: `tasks[3].name: required`. */
function parseElement(raw: unknown, index: number): { task: NewTask } | { problem: string } {
  const parsed = createTaskBody.safeParse(raw);
  if (!parsed.success) {
    const problem = parsed.error.issues
      .map((issue) => {
        const field = describePath(issue.path);
        return `tasks[${index}]${field ? `.${field}` : ''}: ${issue.message}`;
      })
      .join('; ');
    return { problem };
  }
  const refused = PER_TASK_FIELDS.find((rule) => rule.set(parsed.data));
  return refused ? { problem: `tasks[${index}].${refused.field}: ${refused.why}` } : { task: parsed.data };
}

const batchFromUnknown = z
  .object({ tasks: taskList, start })
  .transform((body, ctx): { tasks: NewTask[]; start: boolean } => {
    const problems: string[] = [];
    const parsed: NewTask[] = [];
    for (const [index, raw] of body.tasks.entries()) {
      const element = parseElement(raw, index);
      if ('problem' in element) problems.push(element.problem);
      else parsed.push(element.task);
    }
    if (problems.length > 0) {
      const more = problems.length - SHOWN_PROBLEMS;
      const shown = problems.slice(0, SHOWN_PROBLEMS).join('; ');
      ctx.addIssue({
        code: 'custom',
        message: more > 0 ? `${shown}; and ${more} more tasks with problems` : shown,
      });
      return z.NEVER;
    }
    return { tasks: parsed, start: body.start ?? false };
  });

/**
 * The body of POST /tasks/batch: each task validated as POST /tasks validates one (unknown fields ignored
 * alike), all or none; without the fields that need work of their own per task (PER_TASK_FIELDS).
 */
export const createTaskBatchBody = documentInputAs(
  batchFromUnknown,
  z.object({
    tasks: z
      .array(createTaskBody)
      .min(1)
      .max(MAX_BATCH_TASKS)
      .describe(
        `1 to ${MAX_BATCH_TASKS} tasks as POST /tasks takes them, without schedule, depends_on, workflow_id or job_id`,
      ),
    start,
  }),
);
