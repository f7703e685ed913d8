import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { TaskState } from '../../src/domain/task-state.ts';
import { registry } from '../../src/observability/metrics.ts';
import { request, startTestManager, type TestManager } from '../support/manager-harness.ts';
import { SimulatedProplet, type StartBehaviour } from '../support/simulated-proplet.ts';
import { waitFor } from '../support/wait.ts';

const WASM = Buffer.from('0061736d01000000', 'hex').toString('base64');

let harness: TestManager;
let proplets: SimulatedProplet[];

const api = (method: string, path: string, body?: unknown) => request(harness.baseUrl, method, path, body);

/** A proplet on this test's channel, registered and alive before it is returned. */
async function proplet(behaviour?: StartBehaviour, id?: string): Promise<SimulatedProplet> {
  const simulated = new SimulatedProplet(harness.config.mqtt, behaviour, id);
  proplets.push(simulated);
  await simulated.start();
  await waitFor(
    async () => (await api('GET', `/proplets/${simulated.id}`)).body?.alive === true,
    `${simulated.id} alive`,
  );
  return simulated;
}

async function createTask(body: Record<string, unknown> = {}): Promise<string> {
  const created = await api('POST', '/tasks', { name: 'add', file: WASM, inputs: [2, 3], ...body });
  assert.equal(created.status, 201);
  return created.body.id as string;
}

async function waitForState(taskId: string, state: number, timeoutMs = 10_000): Promise<Record<string, any>> {
  return waitFor(
    async () => {
      const task = (await api('GET', `/tasks/${taskId}`)).body;
      return task.state === state ? task : undefined;
    },
    `task ${taskId} in state ${state}`,
    timeoutMs,
  );
}

beforeEach(async () => {
  harness = await startTestManager();
  proplets = [];
});

afterEach(async () => {
  await Promise.all(proplets.map((p) => p.stop()));
  await harness.close();
});

describe('proplet registration and liveness', () => {
  it('registers a proplet from discovery with a human name and its metadata, alive after its heartbeat', async () => {
    const sim = await proplet();
    const view = (await api('GET', `/proplets/${sim.id}`)).body;
    assert.equal(view.id, sim.id);
    assert.match(view.name, /^[a-z]+-[a-z]+$/);
    assert.equal(view.task_count, 0);
    assert.equal(view.alive, true);
    assert.ok(Date.parse(view.last_alive_at) > Date.now() - 5_000);
    assert.equal(view.metadata.total_memory_bytes, 8221675520);
    assert.equal(view.metadata.cpu_arch, 'x86_64');

    const history = (await api('GET', `/proplets/${sim.id}/alive-history`)).body;
    assert.ok(history.total >= 1 && history.total <= 10);
    assert.ok(history.history.every((at: string) => !Number.isNaN(Date.parse(at))));
    assert.equal((await api('GET', '/proplets?status=active')).body.total, 1);
    assert.equal((await api('GET', '/proplets?status=inactive')).body.total, 0);
  });

  it('registers a proplet known only from its heartbeats (its discovery was missed)', async () => {
    const sim = new SimulatedProplet(harness.config.mqtt);
    proplets.push(sim);
    await sim.start({ discovery: false });
    const view = await waitFor(
      async () =>
        (await api('GET', `/proplets/${sim.id}`)).body?.alive &&
        (await api('GET', `/proplets/${sim.id}`)).body,
      'registration',
    );
    assert.deepEqual(view.metadata, {});
  });

  it('marks a proplet inactive when its heartbeats stop, and at once on its last will', async () => {
    const silent = await proplet();
    const crashing = await proplet();
    crashing.crash();
    await waitFor(
      async () => (await api('GET', `/proplets/${crashing.id}`)).body.alive === false,
      'offline by last will',
      1_000,
    );
    silent.silence();
    await waitFor(
      async () => (await api('GET', `/proplets/${silent.id}`)).body.alive === false,
      'dead by silence',
      4_000,
    );
    const inactive = (await api('GET', '/proplets?status=inactive')).body;
    assert.equal(inactive.total, 2);
    assert.ok(
      inactive.proplets.every((p: { alive: boolean; last_alive_at?: string }) => !p.alive && p.last_alive_at),
    );
  });

  it('registers again a live proplet whose database row disappeared, and then gives it work', async () => {
    const sim = await proplet();
    await harness.manager.resources.postgres.pool.query('DELETE FROM proplets WHERE id = $1', [sim.id]);
    const taskId = await createTask();
    await api('POST', `/tasks/${taskId}/start`);
    await waitForState(taskId, TaskState.Completed);
    assert.equal((await api('GET', `/proplets/${sim.id}`)).status, 200);
  });

  it('drops and counts malformed payloads without harm', async () => {
    const sim = await proplet();
    const rejectedBefore = await rejectedCount();
    await sim.publish('control/proplet/alive', 'not json at all');
    await sim.publish('control/proplet/results', { proplet_id: sim.id, results: 'no task id' });
    await sim.publish('control/proplet/create', { metadata: { os: 'linux' } });
    await waitFor(async () => (await rejectedCount()) - rejectedBefore === 3, 'three rejected payloads');
    // Still serving: the proplet stays alive and a task runs.
    const taskId = await createTask();
    await api('POST', `/tasks/${taskId}/start`);
    await waitForState(taskId, TaskState.Completed);
  });
});

async function rejectedCount(): Promise<number> {
  const metric = await registry.getSingleMetric('propeller_mqtt_rejected_payloads_total')!.get();
  return metric.values.reduce((sum, value) => sum + value.value, 0);
}

describe('tasks through the whole path', () => {
  it('dispatches a start with the upstream payload, records the result, releases the proplet', async () => {
    const sim = await proplet((start) => ({
      results: String(Number(start.inputs![0]) + Number(start.inputs![1])),
    }));
    const taskId = await createTask({ env: { MODE: 'test' }, cli_args: ['--fast'] });
    assert.deepEqual((await api('POST', `/tasks/${taskId}/start`)).body, { started: true });

    const start = await sim.waitForStart(taskId);
    assert.equal(start.name, 'add');
    assert.equal(start.file, WASM);
    assert.deepEqual(start.inputs, ['2', '3']);
    assert.deepEqual(start.cli_args, ['--fast']);
    assert.deepEqual(start.env, { MODE: 'test' });
    assert.equal(start.proplet_id, sim.id);
    assert.equal(start.broadcast, false);
    assert.equal(start.daemon, false);
    assert.equal(start.image_url, undefined);

    const done = await waitForState(taskId, TaskState.Completed);
    assert.equal(done.results, '5');
    assert.equal(done.proplet_id, sim.id);
    assert.equal(done.attempt, 1);
    assert.ok(Date.parse(done.start_time) <= Date.parse(done.finish_time));
    assert.deepEqual((await api('GET', `/tasks/${taskId}/results`)).body, { results: '5' });
    await waitFor(
      async () => (await api('GET', `/proplets/${sim.id}`)).body.task_count === 0,
      'pin released',
    );
    // Released, so the proplet can be deleted.
    assert.equal((await api('DELETE', `/proplets/${sim.id}`)).status, 204);
  });

  it('records an error result as Failed with the message', async () => {
    await proplet(() => ({ results: '', error: 'wasm trap: unreachable' }));
    const taskId = await createTask();
    await api('POST', `/tasks/${taskId}/start`);
    const failed = await waitForState(taskId, TaskState.Failed);
    assert.equal(failed.error, 'wasm trap: unreachable');
  });

  it('rotates starts round-robin over three proplets', async () => {
    const sims = [await proplet(), await proplet(), await proplet()];
    const taskIds: string[] = [];
    for (let i = 0; i < 6; i++) {
      const taskId = await createTask({ name: `rr-${i}` });
      await api('POST', `/tasks/${taskId}/start`);
      await waitForState(taskId, TaskState.Completed);
      taskIds.push(taskId);
    }
    for (const sim of sims) assert.equal(sim.starts.length, 2, `${sim.id} got ${sim.starts.length}`);
    // Each proplet got one of the first three and one of the last three.
    const holder = (i: number) => sims.findIndex((sim) => sim.starts.some((s) => s.id === taskIds[i]));
    assert.deepEqual(new Set([holder(0), holder(1), holder(2)]).size, 3);
    assert.deepEqual([holder(3), holder(4), holder(5)], [holder(0), holder(1), holder(2)]);
  });

  it('gives no work to a dead proplet', async () => {
    const dead = await proplet();
    const live = await proplet();
    dead.silence();
    await waitFor(async () => (await api('GET', `/proplets/${dead.id}`)).body.alive === false, 'dead');
    for (let i = 0; i < 4; i++) {
      const taskId = await createTask();
      await api('POST', `/tasks/${taskId}/start`);
      await waitForState(taskId, TaskState.Completed);
    }
    assert.equal(dead.starts.length, 0);
    assert.equal(live.starts.length, 4);
  });

  it('waits with no live proplet and dispatches when one appears', async () => {
    const taskId = await createTask();
    await api('POST', `/tasks/${taskId}/start`);
    await sleep(700);
    assert.equal((await api('GET', `/tasks/${taskId}`)).body.state, TaskState.Scheduled);
    const late = await proplet();
    await late.waitForStart(taskId, 5_000);
    await waitForState(taskId, TaskState.Completed);
  });

  it('fails a start that found no proplet within the start timeout, saying so', async () => {
    await harness.close();
    harness = await startTestManager({ MANAGER_START_TIMEOUT: '600ms' });
    const taskId = await createTask();
    await api('POST', `/tasks/${taskId}/start`);
    const failed = await waitForState(taskId, TaskState.Failed, 5_000);
    assert.match(failed.error, /no start: a live proplet was not available within 0.6 s/);
  });

  it('honours a pinned proplet, and waits for it rather than use another', async () => {
    const other = await proplet();
    const pinnedId = randomUUID();
    const taskId = await createTask({ proplet_id: pinnedId });
    await api('POST', `/tasks/${taskId}/start`);
    await sleep(500);
    assert.equal((await api('GET', `/tasks/${taskId}`)).body.state, TaskState.Scheduled);
    const pinned = await proplet(undefined, pinnedId);
    await pinned.waitForStart(taskId);
    await waitForState(taskId, TaskState.Completed);
    assert.equal(other.starts.length, 0);
  });

  it('stops a running task: stop command to its proplet, Failed at once, proplet released', async () => {
    const sim = await proplet(() => 'keep-running');
    const taskId = await createTask();
    await api('POST', `/tasks/${taskId}/start`);
    await waitForState(taskId, TaskState.Running);
    assert.equal((await api('GET', `/proplets/${sim.id}`)).body.task_count, 1);
    assert.equal((await api('DELETE', `/proplets/${sim.id}`)).status, 409);

    assert.deepEqual((await api('POST', `/tasks/${taskId}/stop`)).body, { stopped: true });
    const stopped = (await api('GET', `/tasks/${taskId}`)).body;
    assert.equal(stopped.state, TaskState.Failed);
    assert.equal(stopped.error, 'stopped by user');
    assert.equal((await api('GET', `/proplets/${sim.id}`)).body.task_count, 0);
    const stop = await sim.waitForStop(taskId);
    assert.deepEqual(stop, { id: taskId, broadcast: false, proplet_id: sim.id });

    // The proplet's "cancelled" result arrives later and changes nothing.
    await sim.publishResult(taskId, '', 'Task was cancelled or panicked');
    await sleep(300);
    assert.equal((await api('GET', `/tasks/${taskId}`)).body.error, 'stopped by user');
    assert.equal((await api('POST', `/tasks/${taskId}/stop`)).status, 409);
  });

  it('does not let the late report of a stopped run end the next run on the same proplet', async () => {
    const sim = await proplet(() => 'keep-running');
    const taskId = await createTask();
    await api('POST', `/tasks/${taskId}/start`);
    await waitForState(taskId, TaskState.Running);
    await api('POST', `/tasks/${taskId}/stop`);
    await api('POST', `/tasks/${taskId}/start`);
    await waitFor(async () => {
      const task = (await api('GET', `/tasks/${taskId}`)).body;
      return task.attempt === 2 && task.state === TaskState.Running;
    }, 'second run dispatched');

    // The proplet reports the cancelled first run only now, after the second run started.
    await sim.publishResult(taskId, '', 'Task was cancelled or panicked');
    await sleep(300);
    assert.equal((await api('GET', `/tasks/${taskId}`)).body.state, TaskState.Running);
    await sim.publishResult(taskId, 'second run');
    const done = await waitForState(taskId, TaskState.Completed);
    assert.equal(done.results, 'second run');
  });

  it("keeps the next run's result on a proplet that never reported its stopped run", async () => {
    const sim = await proplet(() => 'keep-running');
    const taskId = await createTask();
    await api('POST', `/tasks/${taskId}/start`);
    await waitForState(taskId, TaskState.Running);
    await api('POST', `/tasks/${taskId}/stop`);
    await api('POST', `/tasks/${taskId}/start`);
    await waitFor(async () => {
      const task = (await api('GET', `/tasks/${taskId}`)).body;
      return task.attempt === 2 && task.state === TaskState.Running;
    }, 'second run dispatched');
    // No "cancelled" report for the first run: the second run's success must not be taken for it.
    await sim.publishResult(taskId, 'second run');
    const done = await waitForState(taskId, TaskState.Completed);
    assert.equal(done.results, 'second run');
  });

  it('keeps an empty result, which is a result', async () => {
    await proplet(() => ({ results: '' }));
    const taskId = await createTask();
    await api('POST', `/tasks/${taskId}/start`);
    const done = await waitForState(taskId, TaskState.Completed);
    assert.equal(done.results, '');
    assert.deepEqual((await api('GET', `/tasks/${taskId}/results`)).body, { results: '' });
  });

  it('deletes a running task: its proplet gets a stop and is released', async () => {
    const sim = await proplet(() => 'keep-running');
    const taskId = await createTask();
    await api('POST', `/tasks/${taskId}/start`);
    await waitForState(taskId, TaskState.Running);
    assert.equal((await api('DELETE', `/tasks/${taskId}`)).status, 204);
    assert.deepEqual(await sim.waitForStop(taskId), { id: taskId, broadcast: false, proplet_id: sim.id });
    assert.equal((await api('GET', `/proplets/${sim.id}`)).body.task_count, 0);
    assert.equal((await api('GET', `/tasks/${taskId}`)).status, 404);
  });

  it('applies a result once: duplicates and results from other proplets change nothing', async () => {
    const holder = await proplet(() => 'keep-running');
    const stranger = await proplet(() => 'keep-running');
    const taskId = await createTask();
    await api('POST', `/tasks/${taskId}/start`);
    const running = await waitForState(taskId, TaskState.Running);
    const [owner, other] = running.proplet_id === holder.id ? [holder, stranger] : [stranger, holder];

    await other.publishResult(taskId, 'forged');
    await sleep(300);
    assert.equal((await api('GET', `/tasks/${taskId}`)).body.state, TaskState.Running);

    await owner.publishResult(taskId, 'first');
    await waitForState(taskId, TaskState.Completed);
    await owner.publishResult(taskId, 'second', 'late error');
    await owner.publishResult(randomUUID(), 'for an unknown task');
    await sleep(300);
    const task = (await api('GET', `/tasks/${taskId}`)).body;
    assert.equal(task.results, 'first');
    assert.equal(task.error, undefined);
    assert.equal((await api('GET', `/proplets/${owner.id}`)).body.task_count, 0);
  });

  it('keeps a result carrying NUL characters, with them replaced, instead of losing it', async () => {
    const sim = await proplet(() => 'keep-running');
    const taskId = await createTask();
    await api('POST', `/tasks/${taskId}/start`);
    await sim.waitForStart(taskId);
    await sim.publishResult(taskId, 'out\u0000put', 'bad\u0000news');
    const task = await waitForState(taskId, TaskState.Failed);
    assert.equal(task.results, 'out\uFFFDput');
    assert.equal(task.error, 'bad\uFFFDnews');
  });

  it('runs a finished task again on a new start, as a new attempt', async () => {
    await proplet();
    const taskId = await createTask();
    await api('POST', `/tasks/${taskId}/start`);
    await waitForState(taskId, TaskState.Completed);
    await api('POST', `/tasks/${taskId}/start`);
    const again = await waitFor(async () => {
      const task = (await api('GET', `/tasks/${taskId}`)).body;
      return task.attempt === 2 && task.state === TaskState.Completed ? task : undefined;
    }, 'second run');
    assert.equal(again.results, 'ran add');
  });

  it('keeps results published while the ingress was down (persistent session)', async () => {
    const sim = await proplet(() => 'keep-running');
    const taskId = await createTask();
    await api('POST', `/tasks/${taskId}/start`);
    await waitForState(taskId, TaskState.Running);

    const ingress = harness.manager.roles.indexOf('ingress');
    assert.ok(ingress >= 0);
    await harness.manager.stopRole('ingress');
    await sim.publishResult(taskId, 'while you were away');
    await sleep(200);
    assert.equal((await api('GET', `/tasks/${taskId}`)).body.state, TaskState.Running);
    await harness.manager.startRole('ingress');
    const done = await waitForState(taskId, TaskState.Completed);
    assert.equal(done.results, 'while you were away');
  });
});

describe('heartbeats while the ingress is away', () => {
  it('are not replayed: a proplet that beat and died meanwhile is registered but not alive', async () => {
    await harness.manager.stopRole('ingress');
    const gone = new SimulatedProplet(harness.config.mqtt);
    proplets.push(gone);
    await gone.start();
    gone.silence();
    await gone.stop();
    await harness.manager.startRole('ingress');
    const view = await waitFor(async () => {
      const response = await api('GET', `/proplets/${gone.id}`);
      return response.status === 200 ? response.body : undefined;
    }, 'registration from the kept discovery');
    assert.equal(view.alive, false);
    assert.equal(view.metadata.cpu_arch, 'x86_64');
  });
});

describe('liveness writes', () => {
  it('writes no proplet row for a heartbeat of a proplet already alive', async () => {
    const sim = await proplet();
    const pool = harness.manager.resources.postgres.pool;
    const read = async () =>
      (await pool.query('SELECT updated_at, last_alive_at FROM proplets WHERE id = $1', [sim.id])).rows[0];
    const before = await read();
    const historyBefore = (await api('GET', `/proplets/${sim.id}/alive-history`)).body.history;
    await waitFor(
      async () =>
        (await api('GET', `/proplets/${sim.id}/alive-history`)).body.history.at(-1) !== historyBefore.at(-1),
      'more heartbeats recorded',
    );
    assert.deepEqual(await read(), before);
  });
});
