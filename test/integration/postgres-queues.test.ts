import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { TaskState } from '../../src/domain/task-state.ts';
import { request, startTestManager, type TestManager } from '../support/manager-harness.ts';
import { waitFor } from '../support/wait.ts';

/**
 * The whole manager with no Redis at all: BullMQ on its Postgres backend, liveness, the rotation cursor,
 * stopped-run marks and ingress slots in Postgres tables; two reference proplets in the process.
 */
let harness: TestManager;
const api = (method: string, path: string, body?: unknown) => request(harness.baseUrl, method, path, body);
const example = (name: string) =>
  readFileSync(new URL(`../../examples/${name}.wasm`, import.meta.url)).toString('base64');

before(async () => {
  harness = await startTestManager({ MANAGER_QUEUE_STORE: 'postgres', MANAGER_EMBEDDED_PROPLETS: '2' });
});

after(async () => {
  await harness.close();
});

async function runToEnd(body: Record<string, unknown>): Promise<Record<string, any>> {
  const id = (await api('POST', '/tasks', body)).body.id as string;
  assert.equal((await api('POST', `/tasks/${id}/start`)).status, 200);
  return waitFor(
    async () => {
      const task = (await api('GET', `/tasks/${id}`)).body;
      return task.state === TaskState.Completed || task.state === TaskState.Failed ? task : undefined;
    },
    `${String(body.name)} finished`,
  );
}

describe('queues and coordination state in Postgres (no Redis)', () => {
  it('reports no Redis in health, only Postgres (and the broker the scheduler publishes to)', async () => {
    const health = await api('GET', '/health');
    assert.equal(health.status, 200);
    assert.deepEqual(health.body.checks, { postgres: 'pass', mqtt: 'pass' });
  });

  it('runs tasks on the proplets in turn', async () => {
    await waitFor(
      async () => (await api('GET', '/proplets?status=active')).body.total === 2,
      'two live proplets',
    );
    const holders: string[] = [];
    for (const inputs of [
      [2, 3],
      [20, 22],
      [1, 1],
      [5, 5],
    ]) {
      const task = await runToEnd({ name: 'add', file: example('add'), inputs });
      assert.equal(task.state, TaskState.Completed);
      assert.equal(task.results, String(inputs[0]! + inputs[1]!));
      holders.push(task.proplet_id as string);
    }
    assert.notEqual(holders[0], holders[1], 'the rotation moves on');
    assert.equal(holders[0], holders[2]);
    assert.equal(holders[1], holders[3]);
  });

  it('fails a trapping task with its message', async () => {
    const task = await runToEnd({ name: 'trap', file: example('trap') });
    assert.equal(task.state, TaskState.Failed);
    assert.match(String(task.error), /unreachable/);
  });

  it('stops a running task at once, and the proplet takes work again', async () => {
    const id = (await api('POST', '/tasks', { name: 'loop', file: example('loop') })).body.id as string;
    await api('POST', `/tasks/${id}/start`);
    await waitFor(
      async () => (await api('GET', `/tasks/${id}`)).body.state === TaskState.Running,
      'loop running',
    );
    assert.equal((await api('POST', `/tasks/${id}/stop`)).status, 200);
    const stopped = (await api('GET', `/tasks/${id}`)).body;
    assert.equal(stopped.state, TaskState.Failed);
    const next = await runToEnd({ name: 'add', file: example('add'), inputs: [4, 4] });
    assert.equal(next.results, '8');
  });
});
