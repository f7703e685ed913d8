import type { GroupTaskInput } from '../sdk/index.ts';
import { parseJson, readJson } from './files.ts';
import { CliError, EXIT_USAGE } from './report-error.ts';

/**
 * The tasks of a job or workflow, from `--tasks <json>` or `--tasks-file <path>`: a JSON array of tasks as
 * POST /tasks takes them (with `id` and `depends_on` to link them), or an object with that array as `tasks`.
 * The server checks each task; this only finds the array.
 */
export async function groupTasks(flags: { tasks?: string; tasksFile?: string }): Promise<GroupTaskInput[]> {
  if ((flags.tasks === undefined) === (flags.tasksFile === undefined))
    throw new CliError('give the tasks with either --tasks <json> or --tasks-file <path>', EXIT_USAGE);
  const value =
    flags.tasks !== undefined
      ? parseJson(flags.tasks, '--tasks')
      : await readJson(flags.tasksFile ?? '', '--tasks-file');
  const tasks =
    typeof value === 'object' && value !== null && !Array.isArray(value) && 'tasks' in value
      ? value.tasks
      : value;
  if (!Array.isArray(tasks))
    throw new CliError('the tasks must be a JSON array (or an object with a "tasks" array)', EXIT_USAGE);
  return tasks as GroupTaskInput[];
}
