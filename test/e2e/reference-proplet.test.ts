import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { TaskState } from '../../src/domain/task-state.ts';
import { request, startTestManager, type TestManager } from '../support/manager-harness.ts';
import { TEST_MQTT_URL } from '../support/test-database.ts';
import { waitFor } from '../support/wait.ts';
import { randomUUID } from 'node:crypto';

const ROOT = new URL('../..', import.meta.url);
const example = (name: string) => readFileSync(new URL(`examples/${name}.wasm`, ROOT));

let harness: TestManager;
let wasmServer: Server;
let wasmUrl: string;
const proplets: Array<{ id: string; child: ChildProcess }> = [];

const api = (method: string, path: string, body?: unknown) => request(harness.baseUrl, method, path, body);

/** A reference proplet as `npm run proplet` runs it, in a process of its own. */
function spawnProplet(): { id: string; child: ChildProcess } {
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

async function run(body: Record<string, unknown>, expected: number): Promise<Record<string, any>> {
  const created = await api('POST', '/tasks', body);
  assert.equal(created.status, 201);
  assert.equal((await api('POST', `/tasks/${created.body.id}/start`)).status, 200);
  return waitFor(
    async () => {
      const task = (await api('GET', `/tasks/${created.body.id}`)).body;
      return task.state === expected ? task : undefined;
    },
    `${String(body.name)} in state ${expected}`,
    20_000,
  );
}

before(async () => {
  harness = await startTestManager();
  wasmServer = createServer((req, res) => {
    if (req.url === '/add.wasm') {
      res.writeHead(200, { 'content-type': 'application/wasm' }).end(example('add'));
    } else if (req.url === '/page.html') {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>');
    } else res.writeHead(404).end();
  }).listen(0, '127.0.0.1');
  await once(wasmServer, 'listening');
  wasmUrl = `http://127.0.0.1:${(wasmServer.address() as AddressInfo).port}`;
  proplets.push(spawnProplet(), spawnProplet());
  for (const { id } of proplets) {
    await waitFor(
      async () => (await api('GET', `/proplets/${id}`)).body?.alive === true,
      `proplet ${id} alive`,
      30_000,
    );
  }
});

after(async () => {
  for (const { child } of proplets) {
    child.kill('SIGTERM');
    if (child.exitCode === null) await once(child, 'exit');
  }
  wasmServer.close();
  await harness.close();
});

describe('reference proplets running real Wasm', () => {
  it('register with real metadata', async () => {
    const view = (await api('GET', `/proplets/${proplets[0]!.id}`)).body;
    assert.equal(view.metadata.os, process.platform);
    assert.ok(view.metadata.total_memory_bytes > 0);
    assert.match(view.metadata.wasm_runtime, /^node-/);
  });

  it('runs add(2, 3) and reports "5"', async () => {
    const done = await run(
      { name: 'add', file: example('add').toString('base64'), inputs: [2, 3] },
      TaskState.Completed,
    );
    assert.equal(done.results, '5');
  });

  it('runs fib(50) in 64 bits', async () => {
    const done = await run(
      { name: 'fib', file: example('fib').toString('base64'), inputs: ['50'] },
      TaskState.Completed,
    );
    assert.equal(done.results, '12586269025');
  });

  it('runs a WASI command and reports its standard output', async () => {
    const done = await run(
      { name: 'hello', file: example('hello-wasi').toString('base64') },
      TaskState.Completed,
    );
    assert.equal(done.results, 'Hello from WebAssembly!\n');
  });

  it('reports a trap as Failed with its message', async () => {
    const failed = await run({ name: 'trap', file: example('trap').toString('base64') }, TaskState.Failed);
    assert.match(failed.error, /unreachable/);
  });

  it('reports a bad input as Failed', async () => {
    const failed = await run(
      { name: 'add', file: example('add').toString('base64'), inputs: ['two', 3] },
      TaskState.Failed,
    );
    assert.match(failed.error, /not a valid i32/);
  });

  it('fetches a module by image_url, and refuses one that is not served as Wasm', async () => {
    const done = await run(
      { name: 'add', image_url: `${wasmUrl}/add.wasm`, inputs: [40, 2] },
      TaskState.Completed,
    );
    assert.equal(done.results, '42');
    const missing = await run(
      { name: 'add', image_url: `${wasmUrl}/missing.wasm`, inputs: [1, 1] },
      TaskState.Failed,
    );
    assert.match(missing.error, /HTTP 404/);
    const html = await run(
      { name: 'add', image_url: `${wasmUrl}/page.html`, inputs: [1, 1] },
      TaskState.Failed,
    );
    assert.match(html.error, /content type 'text\/html'/);
  });

  it('stops a task that loops forever at once, and its proplet keeps beating', async () => {
    const task = await run({ name: 'loop', file: example('loop').toString('base64') }, TaskState.Running);
    assert.deepEqual((await api('POST', `/tasks/${task.id}/stop`)).body, { stopped: true });
    const stopped = (await api('GET', `/tasks/${task.id}`)).body;
    assert.equal(stopped.state, TaskState.Failed);
    assert.equal(stopped.error, 'stopped by user');
    const holder = task.proplet_id as string;
    const history = (await api('GET', `/proplets/${holder}/alive-history`)).body.history as string[];
    await waitFor(
      async () =>
        (await api('GET', `/proplets/${holder}/alive-history`)).body.history.at(-1) !== history.at(-1),
      'another heartbeat after the stop',
    );
    assert.equal((await api('GET', `/proplets/${holder}`)).body.alive, true);
    // The proplet is free again: it runs the next task.
    const next = await run(
      { name: 'add', file: example('add').toString('base64'), inputs: [1, 1], proplet_id: holder },
      TaskState.Completed,
    );
    assert.equal(next.results, '2');
  });

  it('deploys a latent add and invokes it, with the inputs of each invocation', async () => {
    const task = await run(
      { name: 'add', file: example('add').toString('base64'), inputs: [1, 1], latent: true },
      TaskState.Running,
    );
    const answer = await api('POST', `/tasks/${task.id}/invoke`, { inputs: [20, 22] });
    assert.deepEqual(answer.body, { invoked: true, results: '42' });
    assert.deepEqual((await api('POST', `/tasks/${task.id}/invoke`)).body, { invoked: true, results: '2' });
    const trap = await api('POST', `/tasks/${task.id}/invoke`, { inputs: ['x', 'y'] });
    assert.equal(trap.status, 502);
  });

  it('runs a broadcast add on both proplets and collects each result', async () => {
    const done = await run(
      { name: 'add', file: example('add').toString('base64'), inputs: [2, 3], broadcast: true },
      TaskState.Completed,
    );
    assert.deepEqual(done.results, Object.fromEntries(proplets.map(({ id }) => [id, '5'])));
  });
});
