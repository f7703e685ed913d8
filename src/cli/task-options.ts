import { basename } from 'node:path';
import { Option, type Command } from 'commander';
import type { CreateTaskInput } from '../sdk/index.ts';
import { readBytes } from './files.ts';
import { integer, keyValue, list } from './option-parsers.ts';

/**
 * The task flags of `tasks create` and `tasks update`, upstream's names (spec §8.6), plus `--file` for an
 * inline module. Only the flags written are sent: a task keeps (or gets the server's default for) the rest.
 * Booleans have a `--no-…` form as well (`--no-daemon`), for scripts that spell the default out.
 */

interface TaskFlags {
  name?: string;
  imageUrl?: string;
  file?: string;
  cliArgs?: string[];
  inputs?: string[];
  env?: Record<string, string>;
  daemon?: boolean;
  latent?: boolean;
  encrypted?: boolean;
  kbsResourcePath?: string;
  propletId?: string;
  broadcast?: boolean;
  priority?: number;
  mode?: 'infer' | 'train';
  kind?: 'standard' | 'federated';
  schedule?: string;
  timezone?: string;
  isRecurring?: boolean;
  metadata?: Record<string, string>;
}

const BOOLEANS = [
  ['daemon', 'runs until stopped'],
  ['latent', 'start deploys the module; `tasks invoke` runs it'],
  ['encrypted', 'the image at --image-url is encrypted'],
  ['broadcast', 'runs on every live proplet'],
] as const;

/**
 * `update`: the flags whose fields PUT /tasks/{id} changes (updateTaskBody applies only those, as upstream's
 * manager does), so that no flag is accepted and then silently ignored; plus `--name`.
 */
export function addTaskOptions(command: Command, { forUpdate = false } = {}): Command {
  if (forUpdate) command.option('--name <name>', 'the name (for a core module, the export to call)');
  command
    .option('--image-url <url>', 'where the proplet fetches the module from')
    .option('--file <path>', 'a .wasm file sent inline (base64)')
    .option('--cli-args <args>', 'arguments of a WASI program (comma separated, or repeat the flag)', list)
    .option('--inputs <values...>', 'arguments of the exported function: 2 3, or 2,3', list)
    .option('--env <KEY=VALUE>', 'an environment variable of the run (repeatable)', keyValue)
    .option('--priority <n>', 'priority, 1 to 100', integer)
    .option('--schedule <cron>', 'a cron expression to run it on')
    .option('--timezone <zone>', 'IANA time zone of the schedule')
    .option('--metadata <KEY=VALUE>', 'a metadata entry (repeatable)', keyValue)
    .option('--is-recurring', 'the schedule repeats')
    .option('--no-is-recurring');
  if (forUpdate) return command;
  command
    .option('--kbs-resource-path <path>', 'key broker resource that decrypts the module')
    .option('--proplet-id <id>', 'the proplet to run on')
    .addOption(new Option('--mode <mode>', 'federated learning mode').choices(['infer', 'train']))
    .addOption(new Option('--kind <kind>', 'kind of task').choices(['standard', 'federated']));
  for (const [flag, description] of BOOLEANS) {
    command.option(`--${flag}`, description).option(`--no-${flag}`);
  }
  return command;
}

/** The request body: the flags that were written, under the API's field names. */
export async function taskBody(flags: TaskFlags): Promise<CreateTaskInput> {
  const body: Record<string, unknown> = {
    name: flags.name,
    image_url: flags.imageUrl,
    cli_args: flags.cliArgs,
    inputs: flags.inputs,
    env: flags.env,
    daemon: flags.daemon,
    latent: flags.latent,
    encrypted: flags.encrypted,
    kbs_resource_path: flags.kbsResourcePath,
    proplet_id: flags.propletId,
    broadcast: flags.broadcast,
    priority: flags.priority,
    mode: flags.mode,
    kind: flags.kind,
    schedule: flags.schedule,
    timezone: flags.timezone,
    is_recurring: flags.isRecurring,
    metadata: flags.metadata,
  };
  if (flags.file !== undefined) body.file = (await readBytes(flags.file)).toString('base64');
  return Object.fromEntries(
    Object.entries(body).filter(([, value]) => value !== undefined),
  ) as CreateTaskInput;
}

/** The export a module's task calls by default: its file name without .wasm (examples/add.wasm → add). */
export const nameFromFile = (path: string) => basename(path).replace(/\.wasm$/i, '');
