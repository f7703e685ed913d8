import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { TaskState } from '../../src/domain/task-state.ts';
import { jobIds } from '../../src/queue/catalog.ts';
import { request, startTestManager, type TestManager } from '../support/manager-harness.ts';
import { SimulatedProplet } from '../support/simulated-proplet.ts';
import { waitFor } from '../support/wait.ts';

const WASM = Buffer.from('0061736d01000000', 'hex').toString('base64');

/**
 * Each test breaks the agreement between a task and the queues or liveness behind the manager's back, as a
 * Redis that lost data or a handler that failed would, and watches the reconciler repair it.
 */
let harness: TestManager;
let proplet: SimulatedProplet | undefined;
const api = (method: string, path: string, body?: unknown) => request(harness.baseUrl, method, path, body);
const taskOf = async (id: string) => (await api('GET', `/tasks/${id}`)).body as Record<string, any>;

async function createTask(body: Record<string, unknown> = {}): Promise<string> {
  const created = await api('POST', '/tasks', { name: 'task', file: WASM, ...body });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body.id as string;
}

const reachesState = (id: string, state: number, what: string) =>
  waitFor(
    async () => {
      const task = await taskOf(id);
      return task.state === state && task;
    },
    what,
    15_000,
  );

before(async () => {
  harness = await startTestManager({
    MANAGER_RECONCILE_INTERVAL: '500ms',
    MANAGER_PROPLET_ALIVE_TIMEOUT: '1500ms',
    MANAGER_TASK_RETRY_BACKOFF: '100ms',
  });
});

after(async () => {
  await proplet?.stop();
  await harness.close();
});

describe('reconciler', () => {
  it('queues again the start of a scheduled task whose start job was lost', async () => {
    const id = await createTask();
    // No proplet yet: the start waits in the queue, where it is then lost.
    assert.equal((await api('POST', `/tasks/${id}/start`)).status, 200);
    const queues = harness.manager.resources.queues;
    const jobId = jobIds.start(id, 1);
    await waitFor(() => queues.isPending('task-start', jobId), 'the start job');
    await waitFor(() => queues.remove('task-start', jobId), 'the start job removed');
    assert.equal(await queues.isPending('task-start', jobId), false);

    proplet = await new SimulatedProplet(harness.config.mqtt, (start) =>
      start.name === 'hang' ? 'keep-running' : { results: 'ok' },
    ).start();
    const done = await reachesState(id, TaskState.Completed, 'the start queued again');
    assert.equal(done.results, 'ok');
    assert.equal(done.attempt, 1);
  });

  it('expires a run whose expiry job was lost', async () => {
    const id = await createTask({ name: 'hang', timeout: 1, max_retries: 0 });
    assert.equal((await api('POST', `/tasks/${id}/start`)).status, 200);
    await proplet!.waitForStart(id);
    const queues = harness.manager.resources.queues;
    await waitFor(() => queues.remove('task-stop', jobIds.expire(id, 1)), 'the expiry job removed');
    const failed = await reachesState(id, TaskState.Failed, 'the overdue run expired');
    assert.equal(failed.error, 'timed out after 1 s');
    await proplet!.waitForStop(id);
  });

  it('runs again elsewhere a task left running on a proplet liveness knows nothing of', async () => {
    const { resources } = harness.manager;
    const ghost = `ghost-${randomUUID()}`;
    await resources.proplets.upsertDiscovered(ghost, {}, 'ghost');
    const id = await createTask();
    const scheduled = await resources.tasks.schedule(id, new Date());
    assert.ok(scheduled);
    assert.equal(await resources.tasks.markDispatched(id, scheduled.attempt, ghost, new Date()), true);

    const done = await reachesState(id, TaskState.Completed, 'the run recovered');
    assert.equal(done.proplet_id, proplet!.id);
    const attempts = (await api('GET', `/tasks/${id}/attempts`)).body.attempts as Array<Record<string, any>>;
    assert.deepEqual(
      attempts.map((run) => [run.proplet_id, run.outcome]),
      [
        [ghost, 'proplet_lost'],
        [proplet!.id, 'completed'],
      ],
    );
  });
});
