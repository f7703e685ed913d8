import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TaskState } from '../../src/domain/task-state.ts';
import { request, startTestManager, type TestManager } from '../support/manager-harness.ts';
import { SimulatedProplet } from '../support/simulated-proplet.ts';
import { waitFor } from '../support/wait.ts';

const WASM = Buffer.from('0061736d01000000', 'hex').toString('base64');

let harness: TestManager;
let fleet: SimulatedProplet[];
/** Proplets outside the fleet, stopped at the end. */
const extras: SimulatedProplet[] = [];

const api = (method: string, path: string, body?: unknown) => request(harness.baseUrl, method, path, body);

async function alive(sim: SimulatedProplet): Promise<SimulatedProplet> {
  await sim.start();
  await waitFor(
    async () => (await api('GET', `/proplets/${sim.id}`)).body?.alive === true,
    `${sim.id} alive`,
  );
  return sim;
}

/** Creates and starts a broadcast task; resolves once every proplet of the fleet got its start. */
async function startBroadcast(name: string): Promise<string> {
  const created = await api('POST', '/tasks', { name, file: WASM, broadcast: true });
  assert.equal(created.status, 201);
  const id = created.body.id as string;
  assert.deepEqual((await api('POST', `/tasks/${id}/start`)).body, { started: true });
  await Promise.all(fleet.map((sim) => sim.waitForStart(id)));
  return id;
}

const taskCounts = async () =>
  Promise.all(fleet.map(async (sim) => (await api('GET', `/proplets/${sim.id}`)).body.task_count as number));

async function waitForState(id: string, state: number): Promise<Record<string, any>> {
  return waitFor(async () => {
    const task = (await api('GET', `/tasks/${id}`)).body;
    return task.state === state ? task : undefined;
  }, `task ${id} in state ${state}`);
}

before(async () => {
  // Every proplet must count as alive at each start, even on a loaded machine where beats come late.
  harness = await startTestManager({ MANAGER_PROPLET_ALIVE_TIMEOUT: '10s' });
  // The tests publish each proplet's result themselves.
  fleet = await Promise.all(
    [0, 1, 2].map(() => alive(new SimulatedProplet(harness.config.mqtt, () => 'keep-running'))),
  );
});

after(async () => {
  await Promise.all([...fleet, ...extras].map((sim) => sim.stop()));
  await harness.close();
});

describe('broadcast tasks', () => {
  it('sends one start without proplet_id to every proplet, pinning each, and completes after the last result', async () => {
    const id = await startBroadcast('hello');
    for (const sim of fleet) {
      const starts = sim.starts.filter((start) => start.id === id);
      assert.equal(starts.length, 1, `${sim.id} got one start`);
      assert.equal(starts[0]!.broadcast, true);
      assert.equal(starts[0]!.proplet_id, undefined);
    }
    const running = (await api('GET', `/tasks/${id}`)).body;
    assert.equal(running.state, TaskState.Running);
    assert.deepEqual(await taskCounts(), [1, 1, 1]);

    await fleet[0]!.publishResult(id, 'from 0');
    await fleet[1]!.publishResult(id, 'from 1');
    await waitFor(async () => (await taskCounts())[1] === 0, 'second share released');
    assert.equal(
      (await api('GET', `/tasks/${id}`)).body.state,
      TaskState.Running,
      'one proplet still runs it',
    );
    assert.deepEqual(await taskCounts(), [0, 0, 1]);

    await fleet[2]!.publishResult(id, 'from 2');
    const done = await waitForState(id, TaskState.Completed);
    assert.equal(done.error, undefined);
    assert.deepEqual((await api('GET', `/tasks/${id}/results`)).body, {
      results: { [fleet[0]!.id]: 'from 0', [fleet[1]!.id]: 'from 1', [fleet[2]!.id]: 'from 2' },
    });
    assert.deepEqual(await taskCounts(), [0, 0, 0]);
  });

  it('ends Failed naming the proplet that failed and why, once all have reported', async () => {
    const id = await startBroadcast('hello');
    await fleet[1]!.publishResult(id, '', 'out of fuel');
    await fleet[0]!.publishResult(id, 'ok');
    await waitFor(async () => (await taskCounts())[0] === 0, 'first share released');
    assert.equal((await api('GET', `/tasks/${id}`)).body.state, TaskState.Running);
    await fleet[2]!.publishResult(id, 'ok');
    const failed = await waitForState(id, TaskState.Failed);
    assert.equal(failed.error, `proplet ${fleet[1]!.id}: out of fuel`);
    assert.equal(failed.results[fleet[0]!.id], 'ok');
    assert.equal(failed.results[fleet[1]!.id], '');
    assert.deepEqual(await taskCounts(), [0, 0, 0]);
  });

  it('ignores a result from a proplet that does not hold it, and a second one from a proplet already reported', async () => {
    const id = await startBroadcast('hello');
    const stranger = new SimulatedProplet(harness.config.mqtt, () => 'keep-running');
    extras.push(stranger);
    await stranger.start({ heartbeats: false });
    await stranger.publishResult(id, 'not mine');
    await fleet[0]!.publishResult(id, 'first');
    await waitFor(async () => (await taskCounts())[0] === 0, 'first share released');
    await fleet[0]!.publishResult(id, 'again');
    await fleet[1]!.publishResult(id, 'ok');
    await waitFor(async () => (await taskCounts())[1] === 0, 'second share released');
    await fleet[2]!.publishResult(id, 'ok');
    const done = await waitForState(id, TaskState.Completed);
    assert.equal(done.results[stranger.id], undefined, "the stranger's result is not recorded");
    assert.equal(done.results[fleet[0]!.id], 'first', 'a duplicate does not overwrite');
    assert.equal(Object.keys(done.results).length, 3);
  });

  it('stops on every proplet with one broadcast stop, failing the task and releasing every pin', async () => {
    const id = await startBroadcast('loop');
    await fleet[0]!.publishResult(id, 'done early');
    await waitFor(async () => (await taskCounts())[0] === 0, 'first share released');
    assert.deepEqual((await api('POST', `/tasks/${id}/stop`)).body, { stopped: true });
    const stops = await Promise.all(fleet.map((sim) => sim.waitForStop(id)));
    for (const stop of stops) assert.deepEqual(stop, { id, broadcast: true });
    const stopped = (await api('GET', `/tasks/${id}`)).body;
    assert.equal(stopped.state, TaskState.Failed);
    assert.equal(stopped.error, 'stopped by user');
    assert.deepEqual(await taskCounts(), [0, 0, 0]);

    // The cancelled runs' reports change nothing, and do not linger to eat a later run's results.
    await fleet[1]!.publishResult(id, '', 'Task was cancelled or panicked');
    await fleet[2]!.publishResult(id, '', 'Task was cancelled or panicked');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal((await api('GET', `/tasks/${id}`)).body.error, 'stopped by user');
    assert.equal((await api('POST', `/tasks/${id}/start`)).status, 200);
    await waitFor(
      () => fleet.every((sim) => sim.starts.filter((s) => s.id === id).length === 2),
      'restarted',
    );
    for (const sim of fleet) await sim.publishResult(id, 'second run');
    const again = await waitForState(id, TaskState.Completed);
    assert.deepEqual(Object.values(again.results), ['second run', 'second run', 'second run']);
  });

  it('sends the broadcast stop when a running broadcast task is deleted', async () => {
    const id = await startBroadcast('loop');
    assert.equal((await api('DELETE', `/tasks/${id}`)).status, 204);
    const stops = await Promise.all(fleet.map((sim) => sim.waitForStop(id)));
    assert.ok(stops.every((stop) => stop.broadcast));
    assert.deepEqual(await taskCounts(), [0, 0, 0]);
  });

  it('waits for a live proplet when none is alive, like any start', async () => {
    // A manager of its own, with no proplet at all yet.
    const lonely = await startTestManager();
    const sim = new SimulatedProplet(lonely.config.mqtt);
    try {
      const created = await request(lonely.baseUrl, 'POST', '/tasks', {
        name: 'hi',
        file: WASM,
        broadcast: true,
      });
      const id = created.body.id as string;
      assert.equal((await request(lonely.baseUrl, 'POST', `/tasks/${id}/start`)).status, 200);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal((await request(lonely.baseUrl, 'GET', `/tasks/${id}`)).body.state, TaskState.Scheduled);
      await sim.start();
      const done = await waitFor(async () => {
        const task = (await request(lonely.baseUrl, 'GET', `/tasks/${id}`)).body;
        return task.state === TaskState.Completed ? task : undefined;
      }, 'broadcast completed on the proplet that came alive');
      assert.deepEqual(done.results, { [sim.id]: 'ran hi' });
    } finally {
      await sim.stop();
      await lonely.close();
    }
  });

  it('records the share of a proplet lost before reporting as failed, so the task still ends', async () => {
    const doomed = await alive(new SimulatedProplet(harness.config.mqtt, () => 'keep-running'));
    extras.push(doomed);
    const id = await startBroadcast('fragile');
    await doomed.waitForStart(id);
    doomed.crash();
    for (const sim of fleet) await sim.publishResult(id, `from ${sim.id}`);
    const failed = await waitForState(id, TaskState.Failed);
    assert.match(failed.error, new RegExp(`proplet ${doomed.id}: proplet lost before reporting`));
    assert.equal(failed.results[doomed.id], null);
    for (const sim of fleet) assert.equal(failed.results[sim.id], `from ${sim.id}`);
    const runs = (await api('GET', `/tasks/${id}/attempts`)).body.attempts as Array<Record<string, any>>;
    assert.equal(runs.find((run) => run.proplet_id === doomed.id)?.outcome, 'proplet_lost');
    for (const sim of fleet)
      assert.equal(runs.find((run) => run.proplet_id === sim.id)?.outcome, 'completed');
  });
});
