import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { TaskState } from '../../src/domain/task-state.ts';
import { request, startTestManager, type TestManager } from '../support/manager-harness.ts';
import { SimulatedProplet } from '../support/simulated-proplet.ts';
import { waitFor } from '../support/wait.ts';

const WASM = Buffer.from('0061736d01000000', 'hex').toString('base64');

let harness: TestManager;
let proplet: SimulatedProplet;
const api = (method: string, path: string, body?: unknown) => request(harness.baseUrl, method, path, body);

/** Tasks named `quick…` complete at once; every other one runs until it is stopped. */
const answer = (start: { name: string }) =>
  start.name.startsWith('quick') ? { results: 'done' } : ('keep-running' as const);

async function started(body: Record<string, unknown>): Promise<string> {
  const created = await api('POST', '/tasks', { file: WASM, ...body });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal((await api('POST', `/tasks/${created.body.id}/start`)).status, 200);
  await proplet.waitForStart(created.body.id);
  return created.body.id as string;
}

const taskOf = async (id: string) => (await api('GET', `/tasks/${id}`)).body as Record<string, any>;

before(async () => {
  // Retries of timed-out runs are test/integration/retries.test.ts's subject: none here.
  harness = await startTestManager({ MANAGER_TASK_TIMEOUT: '1500ms', MANAGER_TASK_MAX_RETRIES: '0' });
  proplet = new SimulatedProplet(harness.config.mqtt, answer);
  await proplet.start();
  await waitFor(async () => (await api('GET', `/proplets/${proplet.id}`)).body?.alive === true, 'alive');
});

after(async () => {
  await proplet.stop();
  await harness.close();
});

describe('execution timeouts', () => {
  it("stops a run that outlives the task's timeout and fails the task saying so", async () => {
    const id = await started({ name: 'slow', timeout: 1 });
    assert.equal((await taskOf(id)).timeout, 1);
    const failed = await waitFor(async () => {
      const task = await taskOf(id);
      return task.state === TaskState.Failed && task;
    }, 'the timeout');
    assert.equal(failed.error, 'timed out after 1 s');
    assert.deepEqual(await proplet.waitForStop(id), { id, broadcast: false, proplet_id: proplet.id });
    assert.equal((await api('GET', `/proplets/${proplet.id}`)).body.task_count, 0);
  });

  it('applies MANAGER_TASK_TIMEOUT to a task that sets none, but not to a daemon', async () => {
    const plain = await started({ name: 'plain' });
    const daemon = await started({ name: 'daemon', daemon: true });
    await waitFor(async () => (await taskOf(plain)).state === TaskState.Failed, 'the default timeout');
    assert.equal((await taskOf(plain)).error, 'timed out after 1.5 s');
    await sleep(500);
    assert.equal((await taskOf(daemon)).state, TaskState.Running);
    assert.equal((await api('POST', `/tasks/${daemon}/stop`)).status, 200);
  });

  it('leaves a run that finished in time alone', async () => {
    const id = await started({ name: 'quick', timeout: 1 });
    await waitFor(async () => (await taskOf(id)).state === TaskState.Completed, 'the result');
    await sleep(1_300);
    const task = await taskOf(id);
    assert.equal(task.state, TaskState.Completed);
    assert.equal(task.results, 'done');
    assert.equal(
      proplet.stops.some((stop) => stop.id === id),
      false,
    );
  });

  it('refuses a timeout that is not a whole number of seconds from 1', async () => {
    for (const timeout of [0, 1.5, -3, '10']) {
      const refused = await api('POST', '/tasks', { name: 'x', file: WASM, timeout });
      assert.equal(refused.status, 400, String(timeout));
      assert.match(refused.body.error, /timeout/);
    }
  });
});
