import type { Command } from 'commander';
import { TASK_COLUMNS } from '../columns.ts';
import { clientFor } from '../context.ts';
import { groupTasks } from '../group-tasks.ts';
import { printRecord } from '../output.ts';

/** `propeller workflows …`: tasks linked by depends_on, each started once its parents have ended. */
export function addWorkflowCommands(program: Command): void {
  const workflows = program.command('workflows').description('create and inspect workflows (task graphs)');

  workflows
    .command('create')
    .description('create a workflow')
    .option('--tasks <json>', 'the tasks, a JSON array (with id and depends_on)')
    .option('--tasks-file <path>', 'a file holding the tasks (JSON)')
    .action(async (flags: { tasks?: string; tasksFile?: string }, command: Command) => {
      const created = await clientFor(command).workflows.create({ tasks: await groupTasks(flags) });
      printRecord(command, created, { tasks: TASK_COLUMNS });
    });

  workflows
    .command('view <id>')
    .description('show a workflow and its tasks')
    .action(async (id: string, _flags: unknown, command: Command) => {
      printRecord(command, await clientFor(command).workflows.get(id), { tasks: TASK_COLUMNS });
    });
}
