import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { findExecutable } from '../../src/config/find-executable.ts';
import { TaskState } from '../../src/domain/task-state.ts';
import { waitFor } from '../support/wait.ts';

const REPOSITORY = fileURLToPath(new URL('../..', import.meta.url));
const NPM_CLI = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
const API = 'http://127.0.0.1:7070';
const run = promisify(execFile);
const temporary: string[] = [];
const started: ChildProcess[] = [];

after(async () => {
  // Whatever a failed test left running (npm and the manager share a process group).
  for (const child of started)
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
  for (const directory of temporary) await rm(directory, { recursive: true, force: true });
});

/** A copy of the repository as a newcomer would have it, sharing this checkout's installed packages. */
async function freshCopy(): Promise<string> {
  const copy = await mkdtemp(join(tmpdir(), 'propeller-first-run-'));
  temporary.push(copy);
  for (const entry of ['package.json', 'src', 'workers', 'drizzle', 'examples', 'bin', 'tsconfig.json'])
    await cp(join(REPOSITORY, entry), join(copy, entry), { recursive: true });
  await symlink(join(REPOSITORY, 'node_modules'), join(copy, 'node_modules'));
  return copy;
}

/** A PATH holding only the named programs, so the manager finds nothing else installed. */
async function onlyThesePrograms(names: string[]): Promise<string> {
  const bin = await mkdtemp(join(tmpdir(), 'propeller-path-'));
  temporary.push(bin);
  for (const name of names) {
    const found = findExecutable(name, process.env.PATH);
    assert.ok(found, `${name} is on this machine's PATH`);
    await symlink(found, join(bin, name));
  }
  return bin;
}

interface Started {
  child: ChildProcess;
  stderr: () => string;
  stdout: () => string;
}

/** `npm start` with an empty environment but for a PATH. */
async function npmStart(copy: string, path: string): Promise<Started> {
  let stderr = '';
  let stdout = '';
  const child = spawn(process.execPath, [NPM_CLI, 'start'], {
    cwd: copy,
    env: { PATH: path },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  await waitFor(
    () => stderr.includes('Run a sample task:') || child.exitCode !== null,
    'the start-up banner',
    60_000,
  );
  assert.equal(child.exitCode, null, `npm start exited early:\n${stderr}\n${stdout.slice(-3_000)}`);
  return { child, stderr: () => stderr, stdout: () => stdout };
}

/** Ctrl-C, as a person stops it: SIGINT to npm's whole process group. */
async function stop({ child, stdout }: Started): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(-child.pid!, 'SIGINT');
  const deadline = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 40_000);
  await exited;
  await waitFor(() => /"msg":"stopped"/.test(stdout()), 'the manager to stop gracefully', 30_000);
  clearTimeout(deadline);
}

function bannerLine(stderr: string, label: string): string {
  const line = stderr.split('\n').find((text) => text.trimStart().startsWith(label));
  assert.ok(line, `the banner has a ${label} line:\n${stderr}`);
  return line;
}

/**
 * Runs the sample command the banner printed, as a person would paste it; where curl is missing (a bare
 * machine), its three requests are made here instead.
 */
async function runSample(copy: string, stderr: string): Promise<string> {
  const lines = stderr.split('\n');
  const command = lines[lines.findIndex((line) => line.startsWith('Run a sample task:')) + 1]!.trim();
  assert.match(command, /curl .*\/tasks .*examples\/add\.wasm/);
  if (findExecutable('curl', process.env.PATH)) {
    const { stdout } = await run('sh', ['-c', command], { cwd: copy, timeout: 30_000 });
    return stdout;
  }
  const file = (await readFile(join(copy, 'examples', 'add.wasm'))).toString('base64');
  const created = await fetch(`${API}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'add', inputs: [2, 3], file }),
  });
  const { id } = (await created.json()) as { id: string };
  const started = await (await fetch(`${API}/tasks/${id}/start`, { method: 'POST' })).text();
  // As the command does: ask until there is a result, for up to 30 s.
  let results = '';
  for (let i = 0; i < 60; i++) {
    results = await (await fetch(`${API}/tasks/${id}/results`)).text();
    if (!results.includes('"results":null')) break;
    await sleep(500);
  }
  return started + results;
}

const variants = [
  // Where this machine has one, as CI's has.
  ...(findExecutable('redis-server', process.env.PATH)
    ? [
        {
          name: 'with a redis-server on the PATH',
          programs: ['node', 'sh', 'redis-server'],
          queues: /redis-server/,
        },
      ]
    : []),
  { name: 'with nothing but Node', programs: ['node', 'sh'], queues: /in Postgres/ },
];

describe('the first run: npm start with no configuration', () => {
  for (const variant of variants) {
    it(`brings up a working system ${variant.name}, and keeps its tasks across a restart`, async () => {
      const copy = await freshCopy();
      const path = await onlyThesePrograms(variant.programs);
      const first = await npmStart(copy, path);
      let taskId: string;
      try {
        assert.match(bannerLine(first.stderr(), 'Postgres'), /embedded\s+PGlite/);
        assert.match(bannerLine(first.stderr(), 'queues'), variant.queues);
        assert.match(bannerLine(first.stderr(), 'MQTT'), /embedded\s+aedes/);
        assert.match(bannerLine(first.stderr(), 'proplets'), /1 embedded/);
        assert.match(bannerLine(first.stderr(), 'API'), /http:\/\/127\.0\.0\.1:7070/);

        const output = await runSample(copy, first.stderr());
        assert.match(output, /\{"started":true\}/);
        assert.match(output, /\{"results":"5"\}/);
        const list = (await (await fetch(`${API}/tasks`)).json()) as { tasks: Array<{ id: string }> };
        assert.equal(list.tasks.length, 1);
        taskId = list.tasks[0]!.id;
      } finally {
        await stop(first);
      }

      const second = await npmStart(copy, path);
      try {
        const task = await waitFor(async () => {
          const response = await fetch(`${API}/tasks/${taskId}`);
          return response.status === 200
            ? ((await response.json()) as { state: number; results: unknown })
            : undefined;
        }, 'the task after a restart');
        assert.equal(task.state, TaskState.Completed);
        assert.equal(task.results, '5');
      } finally {
        await stop(second);
      }
    });
  }
});
