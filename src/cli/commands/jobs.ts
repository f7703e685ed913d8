import { Option, type Command } from 'commander';
import { JOB_COLUMNS, TASK_COLUMNS } from '../columns.ts';
import { clientFor } from '../context.ts';
import { groupTasks } from '../group-tasks.ts';
import { nonNegativeInteger } from '../option-parsers.ts';
import { printPage, printRecord } from '../output.ts';
import type { CreateJobInput, JobListQuery } from '../../sdk/index.ts';

/** `propeller jobs …`: groups of tasks run in parallel or in sequence. */
export function addJobCommands(program: Command): void {
  const jobs = program.command('jobs').description('create and run jobs (groups of tasks)');

  jobs
    .command('create')
    .description('create a job')
    .option('--name <name>', 'the name of the job')
    .option('--execution-mode <mode>', 'parallel, sequential or configurable')
    .option('--tasks <json>', 'the tasks, a JSON array')
    .option('--tasks-file <path>', 'a file holding the tasks (JSON)')
    .action(
      async (
        flags: { name?: string; executionMode?: string; tasks?: string; tasksFile?: string },
        command: Command,
      ) => {
        const body = {
          tasks: await groupTasks(flags),
          ...(flags.name !== undefined ? { name: flags.name } : {}),
          ...(flags.executionMode !== undefined ? { execution_mode: flags.executionMode } : {}),
        } as CreateJobInput;
        printRecord(command, await clientFor(command).jobs.create(body), { tasks: TASK_COLUMNS });
      },
    );

  jobs
    .command('list')
    .description('list jobs')
    .option('-o, --offset <n>', 'jobs to skip', nonNegativeInteger, 0)
    .option('-l, --limit <n>', 'jobs to show', nonNegativeInteger, 10)
    .addOption(
      new Option('--status <status>', 'only jobs in this state').choices([
        'pending',
        'running',
        'completed',
        'failed',
      ]),
    )
    .action(async (flags: JobListQuery, command: Command) => {
      printPage(command, await clientFor(command).jobs.list(flags), 'jobs', JOB_COLUMNS);
    });

  jobs
    .command('view <id>')
    .description('show a job and its tasks')
    .action(async (id: string, _flags: unknown, command: Command) => {
      printRecord(command, await clientFor(command).jobs.get(id), { tasks: TASK_COLUMNS });
    });

  jobs
    .command('start <id>')
    .description("start a job's tasks")
    .action(async (id: string, _flags: unknown, command: Command) => {
      printRecord(command, await clientFor(command).jobs.start(id));
    });

  jobs
    .command('stop <id>')
    .description("stop a job's running tasks")
    .action(async (id: string, _flags: unknown, command: Command) => {
      printRecord(command, await clientFor(command).jobs.stop(id));
    });
}
