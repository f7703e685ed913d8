import type { Command } from 'commander';
import {
  stateName,
  TaskState,
  TERMINAL_STATES,
  WaitForTimeoutError,
  type PropellerClient,
} from '../../sdk/index.ts';
import { clientFor, globalOptions } from '../context.ts';
import { readBytes } from '../files.ts';
import { list } from '../option-parsers.ts';
import { printRecord, write } from '../output.ts';
import { resultText } from '../result-text.ts';
import { CliError } from '../report-error.ts';
import { startSpinner } from '../spinner.ts';
import { nameFromFile } from '../task-options.ts';

/** How long `tasks run` waits for the task when --timeout is not given. */
const DEFAULT_RUN_TIMEOUT_MS = 60_000;

/**
 * `propeller tasks run <file.wasm>`: create a task with the module inline, start it, wait for it to end and
 * print its result, so that one command answers "what does this module return". Exit 0 when it completed,
 * 1 (with its error) when it did not.
 */
export function addRunCommand(tasks: Command): void {
  tasks
    .command('run <file>')
    .description('run a .wasm file on a proplet and print its result')
    .option('--name <name>', 'the export to call (default: the file name without .wasm)')
    .option('--inputs <values...>', 'arguments of the function: 2 3, or 2,3', list)
    .option('--proplet-id <id>', 'the proplet to run on')
    .action(
      async (
        file: string,
        flags: { name?: string; inputs?: string[]; propletId?: string },
        command: Command,
      ) => {
        const client = clientFor(command);
        const bytes = await readBytes(file);
        const task = await client.tasks.create({
          name: flags.name ?? nameFromFile(file),
          file: bytes.toString('base64'),
          ...(flags.inputs ? { inputs: flags.inputs } : {}),
          ...(flags.propletId ? { proplet_id: flags.propletId } : {}),
        });
        // Ctrl-C ends the wait; either way the task this command made is not left running behind it. A
        // listener for every SIGINT (not once): on a terminal, bin/propeller.mjs passes on the one the child
        // got already, and the second must not kill it before the stop is sent.
        const interrupt = new AbortController();
        const onSigint = () => interrupt.abort();
        process.on('SIGINT', onSigint);
        const spinner = startSpinner(`running task ${task.id}`);
        let done;
        try {
          await client.tasks.start(task.id);
          done = await client.tasks.waitFor(task.id, TERMINAL_STATES, {
            timeoutMs: globalOptions(command).timeout ?? DEFAULT_RUN_TIMEOUT_MS,
            signal: interrupt.signal,
          });
        } catch (error) {
          spinner.stop();
          await stopQuietly(client, task.id);
          if (interrupt.signal.aborted) throw new CliError(`interrupted; stopped task ${task.id}`, 130);
          if (error instanceof WaitForTimeoutError) throw new CliError(`${error.message}; stopped it`);
          throw error;
        } finally {
          spinner.stop();
          process.off('SIGINT', onSigint);
        }
        if (globalOptions(command).output === 'json') printRecord(command, done);
        if (done.state !== TaskState.Completed) {
          throw new CliError(
            `task ${done.id} ${stateName(done.state).toLowerCase()}${done.error ? `: ${done.error}` : ''}`,
          );
        }
        if (globalOptions(command).output !== 'json') {
          write(resultText(done.results));
        }
      },
    );
}

/** Stops a task given up on; it may have ended meanwhile (409) or the manager be gone: nothing more to do. */
async function stopQuietly(client: PropellerClient, taskId: string): Promise<void> {
  await client.tasks.stop(taskId).catch(() => undefined);
}
