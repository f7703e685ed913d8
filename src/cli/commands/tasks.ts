import type { Command } from 'commander';
import { TASK_COLUMNS, TASK_METRICS_COLUMNS } from '../columns.ts';
import { clientFor } from '../context.ts';
import { readBytes } from '../files.ts';
import { keyValue, list, nonNegativeInteger } from '../option-parsers.ts';
import { printDone, printPage, printRecord, write } from '../output.ts';
import { resultText } from '../result-text.ts';
import { addTaskOptions, taskBody } from '../task-options.ts';
import { addRunCommand } from './task-run.ts';

/** `propeller tasks …`: upstream's task commands (spec §8.6), one SDK call each, and `run` (task-run.ts). */
export function addTaskCommands(program: Command): void {
  const tasks = program.command('tasks').description('create, run and inspect tasks');

  addTaskOptions(tasks.command('create <name>').description('create a task')).action(
    async (name: string, flags: Parameters<typeof taskBody>[0], command: Command) => {
      printRecord(command, await clientFor(command).tasks.create(await taskBody({ ...flags, name })));
    },
  );

  tasks
    .command('view <id>')
    .description('show a task')
    .action(async (id: string, _flags: unknown, command: Command) => {
      printRecord(command, await clientFor(command).tasks.get(id));
    });

  tasks
    .command('list')
    .description('list tasks, newest first')
    .option('-o, --offset <n>', 'tasks to skip', nonNegativeInteger, 0)
    .option('-l, --limit <n>', 'tasks to show', nonNegativeInteger, 10)
    .option('--metadata <KEY=VALUE>', 'only tasks whose metadata has this entry (repeatable)', keyValue)
    .action(
      async (
        flags: { offset: number; limit: number; metadata?: Record<string, string> },
        command: Command,
      ) => {
        const page = await clientFor(command).tasks.list(flags);
        printPage(command, page, 'tasks', TASK_COLUMNS);
      },
    );

  addTaskOptions(tasks.command('update <id>').description('change a task'), { forUpdate: true }).action(
    async (id: string, flags: Parameters<typeof taskBody>[0], command: Command) => {
      printRecord(command, await clientFor(command).tasks.update(id, await taskBody(flags)));
    },
  );

  tasks
    .command('delete <id>')
    .description('delete a task')
    .action(async (id: string, _flags: unknown, command: Command) => {
      await clientFor(command).tasks.delete(id);
      printDone(command, `deleted task ${id}`);
    });

  tasks
    .command('start <id>')
    .description('start a task (the manager queues it for a proplet)')
    .action(async (id: string, _flags: unknown, command: Command) => {
      printRecord(command, await clientFor(command).tasks.start(id));
    });

  tasks
    .command('stop <id>')
    .description('stop a running task')
    .action(async (id: string, _flags: unknown, command: Command) => {
      printRecord(command, await clientFor(command).tasks.stop(id));
    });

  tasks
    .command('invoke <id> [inputs...]')
    .description('run a deployed latent task with these inputs and print its result')
    .option('--env <KEY=VALUE>', 'an environment variable of the run (repeatable)', keyValue)
    .action(
      async (id: string, inputs: string[], flags: { env?: Record<string, string> }, command: Command) => {
        const values = inputs.flatMap((input) => list(input));
        // Upstream sends a body only when there is something in it.
        const body =
          values.length > 0 || flags.env
            ? { ...(values.length > 0 ? { inputs: values } : {}), ...(flags.env ? { env: flags.env } : {}) }
            : undefined;
        printRecord(command, await clientFor(command).tasks.invoke(id, body));
      },
    );

  tasks
    .command('results <id>')
    .description("print a task's results")
    .action(async (id: string, _flags: unknown, command: Command) => {
      const body = await clientFor(command).tasks.results(id);
      if (command.optsWithGlobals<{ output: string }>().output === 'json') printRecord(command, body);
      // Before the task has a result (null), an empty line: `null` would read as what the module returned.
      else write(resultText(body.results));
    });

  tasks
    .command('metrics <id>')
    .description("list a task's metrics")
    .option('-o, --offset <n>', 'entries to skip', nonNegativeInteger, 0)
    .option('-l, --limit <n>', 'entries to show', nonNegativeInteger, 10)
    .action(async (id: string, flags: { offset: number; limit: number }, command: Command) => {
      printPage(command, await clientFor(command).tasks.metrics(id, flags), 'metrics', TASK_METRICS_COLUMNS);
    });

  tasks
    .command('upload <id> <file>')
    .description("set a task's module from a .wasm file")
    .action(async (id: string, file: string, _flags: unknown, command: Command) => {
      const bytes = await readBytes(file);
      const filename = file.split(/[\\/]/).pop() ?? 'module.wasm';
      printRecord(command, await clientFor(command).tasks.upload(id, { bytes, filename }));
    });

  addRunCommand(tasks);
}
