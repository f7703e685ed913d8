import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { TaskState } from '../../src/domain/task-state.ts';
import {
  request,
  startTestManager,
  untilPropletAlive,
  type TestManager,
} from '../support/manager-harness.ts';
import { SimulatedProplet } from '../support/simulated-proplet.ts';
import { TEST_MQTT_URL } from '../support/test-database.ts';
import { waitFor } from '../support/wait.ts';

/**
 * The `propeller` CLI as a user runs it, `node bin/propeller.mjs …` in a process of its own, against the
 * whole manager (real Postgres, Redis, Mosquitto): a simulated proplet answers the starts of most tests, and
 * a reference proplet runs real Wasm for `tasks run`. Each test checks what is printed and the exit code.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin/propeller.mjs');
const example = (name: string) => join(ROOT, 'examples', `${name}.wasm`);

let harness: TestManager;
let proplet: SimulatedProplet;
let reference: { id: string; child: ChildProcess };
let scratch: string;
/** A file holding a minimal module (header only): the simulated proplet does not run it. */
let moduleFile: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with the harness as its manager (PROPELLER_MANAGER_URL, as a user would set it). */
async function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, PROPELLER_MANAGER_URL: harness.baseUrl, PROPELLER_TOKEN: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

/** Runs the CLI expecting exit 0, and returns stdout. */
async function ok(args: string[], env: Record<string, string> = {}): Promise<string> {
  const run = await cli(args, env);
  assert.equal(run.code, 0, `propeller ${args.join(' ')} exited ${run.code}: ${run.stderr}`);
  return run.stdout;
}

const json = async (args: string[]) => JSON.parse(await ok([...args, '--output', 'json']));

const untilState = (taskId: string, state: number) =>
  waitFor(
    async () => (await request(harness.baseUrl, 'GET', `/tasks/${taskId}`)).body?.state === state,
    `task ${taskId} in state ${state}`,
    30_000,
  );

/** A reference proplet as `npm run proplet` runs it, in a process of its own. */
function spawnReferenceProplet(): { id: string; child: ChildProcess } {
  const id = randomUUID();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/proplet/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      PROPLET_TENANT_ID: harness.config.mqtt.tenantId,
      PROPLET_CHANNEL_ID: harness.config.mqtt.channelId,
      PROPLET_ENTITY_ID: id,
      PROPLET_MQTT_ADDRESS: TEST_MQTT_URL,
      PROPLET_LIVELINESS_INTERVAL: '200ms',
      PROPLET_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return { id, child };
}

before(async () => {
  harness = await startTestManager();
  proplet = await new SimulatedProplet({
    tenantId: harness.config.mqtt.tenantId,
    channelId: harness.config.mqtt.channelId,
  }).start();
  reference = spawnReferenceProplet();
  await untilPropletAlive(harness.baseUrl, proplet.id, 30_000);
  await untilPropletAlive(harness.baseUrl, reference.id, 60_000);
  scratch = await mkdtemp(join(tmpdir(), 'propeller-cli-'));
  moduleFile = join(scratch, 'module.wasm');
  await writeFile(moduleFile, Buffer.from('0061736d01000000', 'hex'));
});

after(async () => {
  reference?.child.kill('SIGTERM');
  if (reference && reference.child.exitCode === null) await once(reference.child, 'exit');
  await proplet?.stop();
  await harness?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('the propeller bin', () => {
  it("is the package's `propeller` command, and prints its usage with --help (exit 0)", async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
    assert.equal(pkg.bin.propeller, 'bin/propeller.mjs');
    const help = await ok(['--help']);
    for (const group of ['tasks', 'proplets', 'jobs', 'workflows', 'health']) {
      assert.match(help, new RegExp(`^  ${group} `, 'm'));
    }
    assert.match(await ok(['tasks', 'list', '--help']), /-o, --offset <n>.*\n.*-l, --limit <n>/s);
  });
});

describe('propeller tasks run', () => {
  it('runs examples/add.wasm with --inputs 2 3 on the reference proplet and prints 5', async () => {
    const run = await cli([
      'tasks',
      'run',
      example('add'),
      '--inputs',
      '2',
      '3',
      '--proplet-id',
      reference.id,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, '5\n');
    // Not a terminal: no spinner, nothing else on stderr.
    assert.equal(run.stderr, '');
  });

  it("takes upstream's form of the inputs too (--inputs 40,2), and --output json prints the task", async () => {
    const task = await json([
      'tasks',
      'run',
      example('add'),
      '--inputs',
      '40,2',
      '--proplet-id',
      reference.id,
    ]);
    assert.equal(task.state, TaskState.Completed);
    assert.equal(task.name, 'add');
    assert.deepEqual(task.inputs, ['40', '2']);
    assert.equal(task.results, '42');
  });

  it('prints the error and exits 1 when the task fails (a module that traps)', async () => {
    const run = await cli([
      'tasks',
      'run',
      example('trap'),
      '--proplet-id',
      reference.id,
      '--timeout',
      '60s',
    ]);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^error: task [0-9a-f-]+ failed: .+/);
  });
  it('gives up after --timeout, stops the task it made, and exits 1', async () => {
    const run = await cli(['tasks', 'run', example('loop'), '--proplet-id', reference.id, '--timeout', '3s']);
    assert.equal(run.code, 1);
    const match =
      /^error: task ([0-9a-f-]+) did not reach .* within 3000 ms; last state: \w+; stopped it\n$/.exec(
        run.stderr,
      );
    assert.ok(match, run.stderr);
    await untilState(match[1]!, TaskState.Failed);
  });

  it('on Ctrl-C (SIGINT) stops the task it made and exits 130', async () => {
    const before = new Set(
      (await request(harness.baseUrl, 'GET', '/tasks?limit=100')).body.tasks.map((t: any) => t.id),
    );
    const child = spawn(
      process.execPath,
      [BIN, 'tasks', 'run', example('loop'), '--proplet-id', reference.id],
      {
        cwd: ROOT,
        env: { ...process.env, PROPELLER_MANAGER_URL: harness.baseUrl },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = once(child, 'close');
    const task = await waitFor(
      async () => {
        const { tasks } = (await request(harness.baseUrl, 'GET', '/tasks?limit=100')).body;
        return tasks.find((t: any) => !before.has(t.id) && t.state === TaskState.Running);
      },
      'the loop task running',
      30_000,
    );
    child.kill('SIGINT');
    const [code] = (await exited) as [number | null];
    assert.equal(code, 130, stderr);
    assert.equal(stderr, `error: interrupted; stopped task ${task.id}\n`);
    await untilState(task.id, TaskState.Failed);
  });
});

describe('propeller tasks', () => {
  it('creates with upstream flags (only those given are sent), views, lists, updates and deletes', async () => {
    const tag = randomUUID();
    const created = await json([
      'tasks',
      'create',
      'cli-one',
      '--file',
      moduleFile,
      '--inputs',
      '2',
      '3',
      '--env',
      'A=1',
      '--env',
      'B=x=y',
      '--priority',
      '7',
      '--metadata',
      `tag=${tag}`,
      '--proplet-id',
      proplet.id,
    ]);
    assert.equal(created.name, 'cli-one');
    assert.equal(created.state, TaskState.Pending);
    assert.deepEqual(created.inputs, ['2', '3']);
    assert.deepEqual(created.env, { A: '1', B: 'x=y' });
    assert.equal(created.priority, 7);
    assert.deepEqual(created.metadata, { tag });
    assert.equal(created.proplet_id, proplet.id);
    assert.equal(created.daemon, false);
    assert.equal((await json(['tasks', 'create', 'cli-daemon', '--daemon'])).daemon, true);
    assert.equal(typeof created.file, 'string');

    const view = await ok(['tasks', 'view', created.id]);
    assert.match(view, new RegExp(`^id +${created.id}$`, 'm'));
    assert.match(view, /^state +Pending \(0\)$/m);

    await json(['tasks', 'create', 'cli-two', '--metadata', `tag=${tag}`]);
    const list = await ok(['tasks', 'list', '--metadata', `tag=${tag}`, '-l', '1', '-o', '1']);
    const lines = list.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^ID +NAME +STATE +PROPLET/);
    assert.match(lines[1] ?? '', new RegExp(`^${created.id} +cli-one +Pending`));
    assert.equal(lines[2], '(2-2 of 2)');

    // Only --name and --env are sent: the priority and the inputs are kept.
    const updated = await json(['tasks', 'update', created.id, '--name', 'cli-renamed', '--env', 'C=3']);
    assert.equal(updated.name, 'cli-renamed');
    assert.deepEqual(updated.env, { C: '3' });
    assert.equal(updated.priority, 7);
    assert.deepEqual(updated.inputs, ['2', '3']);
    // A flag that PUT /tasks/{id} would ignore is refused rather than silently dropped.
    assert.equal((await cli(['tasks', 'update', created.id, '--daemon'])).code, 2);

    assert.equal(await ok(['tasks', 'delete', created.id]), `deleted task ${created.id}\n`);
    const gone = await cli(['tasks', 'view', created.id]);
    assert.equal(gone.code, 1);
    assert.equal(gone.stdout, '');
    assert.match(gone.stderr, /^error: .*not found.* \(404\)\n$/i);
  });

  it('starts a task, prints its results and metrics, and uploads a module', async () => {
    const task = await json([
      'tasks',
      'create',
      'cli-start',
      '--file',
      moduleFile,
      '--proplet-id',
      proplet.id,
    ]);
    assert.match(await ok(['tasks', 'start', task.id]), /^started +true$/m);
    await untilState(task.id, TaskState.Completed);
    assert.equal(await ok(['tasks', 'results', task.id]), 'ran cli-start\n');
    assert.deepEqual(await json(['tasks', 'results', task.id]), { results: 'ran cli-start' });
    assert.match(await ok(['tasks', 'metrics', task.id]), /^TIME +PROPLET +METRICS\n\((none of|1-)/);
    assert.equal((await json(['tasks', 'metrics', task.id, '--limit', '3'])).limit, 3);

    const uploaded = await json(['tasks', 'upload', task.id, example('add')]);
    assert.equal(uploaded.id, task.id);
    assert.equal(typeof uploaded.file, 'string');
    const refused = await cli(['tasks', 'upload', task.id, join(scratch, 'missing.wasm')]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^error: cannot read .*missing\.wasm: ENOENT/);
  });

  it('deploys a latent task, invokes it with inputs, and stops it', async () => {
    const task = await json([
      'tasks',
      'create',
      'cli-latent',
      '--file',
      moduleFile,
      '--latent',
      '--proplet-id',
      proplet.id,
    ]);
    await ok(['tasks', 'start', task.id]);
    await untilState(task.id, TaskState.Running);
    const invoked = await json(['tasks', 'invoke', task.id, '4', '5', '--env', 'K=V']);
    assert.deepEqual(invoked, { invoked: true, results: `ran ${task.id}` });
    const sent = proplet.invokes.find((invoke) => invoke.id === task.id);
    assert.deepEqual(sent?.inputs, ['4', '5']);
    assert.deepEqual(sent?.env, { K: 'V' });
    assert.match(await ok(['tasks', 'stop', task.id]), /^stopped +true$/m);
    await waitFor(() => proplet.stops.some((stop) => stop.id === task.id), 'the stop at the proplet');
  });
});

describe('propeller proplets', () => {
  it('lists (with --status), views, prints the SDF, metrics and heartbeats', async () => {
    const list = await ok(['proplets', 'list', '--status', 'active', '-l', '100']);
    assert.match(list, /^ID +NAME +ALIVE +TASKS +LAST ALIVE$/m);
    assert.match(list, new RegExp(`^${proplet.id} +\\S+ +true `, 'm'));
    assert.ok((await json(['proplets', 'list'])).proplets.some((p: any) => p.id === reference.id));

    assert.match(await ok(['proplets', 'view', proplet.id]), /^alive +true$/m);
    const sdf = JSON.parse(await ok(['proplets', 'sdf', proplet.id]));
    assert.equal(typeof sdf.info.title, 'string');
    assert.ok(Array.isArray((await json(['proplets', 'metrics', proplet.id])).metrics));
    const history = await ok(['proplets', 'alive-history', proplet.id, '--limit', '2']);
    assert.match(history, /^HEARTBEAT\n\d{4}-\d\d-\d\dT.+\n/);
  });

  it('deletes a proplet that has gone', async () => {
    const gone = await new SimulatedProplet({
      tenantId: harness.config.mqtt.tenantId,
      channelId: harness.config.mqtt.channelId,
    }).start();
    await untilPropletAlive(harness.baseUrl, gone.id, 30_000);
    await gone.stop();
    const run = await cli(['proplets', 'delete', gone.id]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `deleted proplet ${gone.id}\n`);
    assert.equal((await request(harness.baseUrl, 'GET', `/proplets/${gone.id}`)).status, 404);
  });
});

describe('propeller jobs and workflows', () => {
  const pinned = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    file: Buffer.from('0061736d01000000', 'hex').toString('base64'),
    proplet_id: proplet.id,
    ...extra,
  });

  it('creates a job from --tasks, lists, views, starts it to completion, and stops it', async () => {
    const name = `cli-job-${randomBytes(4).toString('hex')}`;
    const created = await json([
      'jobs',
      'create',
      '--name',
      name,
      '--execution-mode',
      'parallel',
      '--tasks',
      JSON.stringify([pinned('job-a'), pinned('job-b')]),
    ]);
    assert.equal(created.tasks.length, 2);
    const id: string = created.job_id;

    assert.match(
      await ok(['jobs', 'list', '-l', '100']),
      new RegExp(`^${id} +${name} +parallel +Pending +2 `, 'm'),
    );
    assert.ok(
      (await json(['jobs', 'list', '--status', 'pending', '-l', '100'])).jobs.some(
        (j: any) => j.job_id === id,
      ),
    );
    const view = await ok(['jobs', 'view', id]);
    assert.match(view, /^execution_mode +parallel$/m);
    assert.match(view, /^tasks:\nID +NAME +STATE/m);
    assert.match(view, / job-a +Pending/);

    assert.equal((await json(['jobs', 'start', id])).job_id, id);
    await waitFor(
      async () => (await request(harness.baseUrl, 'GET', `/jobs/${id}`)).body?.state === TaskState.Completed,
      'the job completed',
      30_000,
    );
    assert.match(await ok(['jobs', 'view', id]), /^state +Completed \(3\)$/m);
    assert.equal((await json(['jobs', 'stop', id])).job_id, id);
  });

  it('creates a workflow from --tasks-file and views it', async () => {
    const first = randomUUID();
    const file = join(scratch, 'workflow.json');
    await writeFile(
      file,
      JSON.stringify({ tasks: [pinned('wf-1', { id: first }), pinned('wf-2', { depends_on: [first] })] }),
    );
    const created = await json(['workflows', 'create', '--tasks-file', file]);
    assert.equal(created.tasks.length, 2);
    const view = await ok(['workflows', 'view', created.workflow_id]);
    assert.match(view, new RegExp(`^workflow_id +${created.workflow_id}$`, 'm'));
    assert.match(view, / wf-2 +Pending/);
  });

  it('refuses tasks that are not JSON, or neither --tasks nor --tasks-file, as usage errors (exit 2)', async () => {
    const bad = await cli(['jobs', 'create', '--tasks', '[not json']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^error: --tasks is not JSON/);
    const none = await cli(['workflows', 'create']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /--tasks <json> or --tasks-file/);
  });
});

describe('propeller health and errors', () => {
  it('prints the health document as key/value lines, and as JSON', async () => {
    assert.match(await ok(['health']), /^status +pass$/m);
    const health = await json(['health']);
    assert.equal(health.status, 'pass');
    assert.equal(typeof health.instance_id, 'string');
  });

  it("prints the server's refusal with its status and exits 1 (a bad field, 400)", async () => {
    const run = await cli(['tasks', 'create', 'x', '--priority', '1000']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^error: .*priority.* \(400\)\n$/);
  });

  it('exits 2 on a usage error commander finds: an unknown flag, a bad value, a missing argument', async () => {
    for (const args of [
      ['tasks', 'list', '--bogus'],
      ['tasks', 'list', '--limit', 'ten'],
      ['tasks', 'create', 'x', '--env', 'NOEQUALS'],
      ['tasks', 'view'],
      ['proplets', 'list', '--status', 'sleepy'],
      ['--output', 'yaml', 'health'],
    ]) {
      const run = await cli(args);
      assert.equal(run.code, 2, `propeller ${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, /error: /);
      assert.equal(run.stdout, '');
    }
  });

  it('says when the manager cannot be reached, and exits 1', async () => {
    const run = await cli(['-m', 'http://127.0.0.1:9', 'health']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^error: GET \/health: the manager could not be reached/);
  });
});

describe('propeller with API tokens', () => {
  const token = randomBytes(24).toString('hex');
  let secured: TestManager;

  before(async () => {
    secured = await startTestManager({ MANAGER_API_TOKENS: `cli:viewer:${token}` });
  });
  after(async () => {
    await secured?.close();
  });

  it('is refused without --token (401) and answered with it, or with PROPELLER_TOKEN', async () => {
    const url = { PROPELLER_MANAGER_URL: secured.baseUrl };
    const refused = await cli(['tasks', 'list'], url);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /\(401\)\n$/);
    const page = JSON.parse(await ok(['tasks', 'list', '--token', token, '--output', 'json'], url));
    assert.equal(page.total, 0);
    assert.match(await ok(['tasks', 'list'], { ...url, PROPELLER_TOKEN: token }), /^ID +NAME/);
  });
});
