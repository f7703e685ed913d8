import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { TaskState } from '../../src/domain/task-state.ts';
import type { StartMessage } from '../../src/mqtt/outbound-payloads.ts';
import { request, startTestManager, type TestManager } from '../support/manager-harness.ts';
import { SimulatedProplet } from '../support/simulated-proplet.ts';
import { waitFor } from '../support/wait.ts';

const WASM = Buffer.from('0061736d01000000', 'hex').toString('base64');
const ALIVE_TIMEOUT_MS = 1_500;

let harness: TestManager;
const api = (method: string, path: string, body?: unknown) => request(harness.baseUrl, method, path, body);
const taskOf = async (id: string) => (await api('GET', `/tasks/${id}`)).body as Record<string, any>;
const attemptsOf = async (id: string) =>
  (await api('GET', `/tasks/${id}/attempts`)).body.attempts as Array<Record<string, any>>;

/**
 * How the proplets of a test answer, by task name: `hang…` never answers, `fail-once…` fails its first run
 * and completes the next, `fail…` always fails, `hang-once…` answers from its second run on; anything else
 * completes at once. Runs are counted over every proplet.
 */
const runs = new Map<string, number>();
function answer(start: StartMessage): { results?: unknown; error?: string | null } | 'keep-running' {
  const run = (runs.get(start.id) ?? 0) + 1;
  runs.set(start.id, run);
  if (start.name.startsWith('hang-once')) return run === 1 ? 'keep-running' : { results: `run ${run}` };
  if (start.name.startsWith('hang')) return 'keep-running';
  if (start.name.startsWith('fail-once')) return run === 1 ? { error: 'trap' } : { results: `run ${run}` };
  if (start.name.startsWith('fail')) return { error: `trap ${run}` };
  return { results: `run ${run}` };
}

const proplets: SimulatedProplet[] = [];
async function proplet(): Promise<SimulatedProplet> {
  const started = new SimulatedProplet(harness.config.mqtt, answer);
  started.reportsCancellation = true;
  await started.start();
  proplets.push(started);
  await waitFor(async () => (await api('GET', `/proplets/${started.id}`)).body?.alive === true, 'alive');
  return started;
}

async function startTask(body: Record<string, unknown>): Promise<string> {
  const created = await api('POST', '/tasks', { file: WASM, ...body });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal((await api('POST', `/tasks/${created.body.id}/start`)).status, 200);
  return created.body.id as string;
}

const finished = (id: string, what = 'the task to finish', timeoutMs = 15_000) =>
  waitFor(
    async () => {
      const task = await taskOf(id);
      return (task.state === TaskState.Completed || task.state === TaskState.Failed) && task;
    },
    what,
    timeoutMs,
  );

const holderOf = async (id: string) =>
  waitFor(async () => {
    const task = await taskOf(id);
    return task.state === TaskState.Running && (task.proplet_id as string);
  }, `${id} running`);

before(async () => {
  harness = await startTestManager({
    MANAGER_PROPLET_ALIVE_TIMEOUT: `${ALIVE_TIMEOUT_MS}ms`,
    MANAGER_TASK_RETRY_BACKOFF: '100ms',
    MANAGER_TASK_RETRY_BACKOFF_MAX: '400ms',
  });
});

after(async () => {
  await Promise.all(proplets.map((each) => each.stop().catch(() => undefined)));
  await harness.close();
});

describe('retries', () => {
  it('runs a timed-out task again, and fails it once its retries are spent', async () => {
    const only = await proplet();
    const id = await startTask({ name: 'hang', timeout: 1, max_retries: 1 });
    const failed = await finished(id, 'two timed-out runs');
    assert.equal(failed.state, TaskState.Failed);
    assert.equal(failed.error, 'timed out after 1 s (no retries left: 1 of 1 spent)');
    assert.equal(failed.retries, 1);
    assert.equal(failed.max_retries, 1);
    assert.equal(only.starts.filter((start) => start.id === id).length, 2);
    // The last stop is published by a job queued as the task failed: it may follow the failure.
    await waitFor(() => only.stops.filter((stop) => stop.id === id).length === 2, 'both stops');
    const history = await attemptsOf(id);
    assert.deepEqual(
      history.map(({ attempt, outcome, proplet_id }) => ({ attempt, outcome, proplet_id })),
      [
        { attempt: failed.attempt - 1, outcome: 'timed_out', proplet_id: only.id },
        { attempt: failed.attempt, outcome: 'timed_out', proplet_id: only.id },
      ],
    );
    assert.match(history[0]!.error, /^timed out after 1 s; retry 1 of 1 in /);
    for (const run of history) assert.ok(Date.parse(run.finished_at) >= Date.parse(run.started_at));
    assert.equal((await api('GET', `/proplets/${only.id}`)).body.task_count, 0);
  });

  it('completes a task whose second run answers in time', async () => {
    const id = await startTask({ name: 'hang-once', timeout: 1 });
    const done = await finished(id);
    assert.equal(done.state, TaskState.Completed);
    assert.equal(done.results, 'run 2');
    assert.equal(done.error, undefined);
    assert.deepEqual(
      (await attemptsOf(id)).map((run) => run.outcome),
      ['timed_out', 'completed'],
    );
  });

  it('keeps an error reported by the Wasm final, unless the task sets retry_on_error', async () => {
    const final = await startTask({ name: 'fail-once final' });
    const failed = await finished(final);
    assert.equal(failed.state, TaskState.Failed);
    assert.equal(failed.error, 'trap');
    assert.deepEqual(
      (await attemptsOf(final)).map((run) => [run.outcome, run.error]),
      [['failed', 'trap']],
    );

    const retried = await startTask({ name: 'fail-once retried', retry_on_error: true });
    const done = await finished(retried);
    assert.equal(done.state, TaskState.Completed, JSON.stringify(done));
    assert.equal(done.retry_on_error, true);
    assert.deepEqual(
      (await attemptsOf(retried)).map((run) => run.outcome),
      ['failed', 'completed'],
    );

    const spent = await startTask({ name: 'fail always', retry_on_error: true, max_retries: 2 });
    const gaveUp = await finished(spent);
    assert.equal(gaveUp.state, TaskState.Failed);
    assert.equal(gaveUp.error, 'trap 3');
    assert.equal((await attemptsOf(spent)).length, 3);
  });

  it('dispatches the running task of a proplet that went silent to another, and ignores its late result', async () => {
    const [first, second] = [proplets[0]!, await proplet()];
    const id = await startTask({ name: 'hang-once after loss' });
    const holder = await holderOf(id);
    const lost = holder === first.id ? first : second;
    const other = lost === first ? second : first;
    const silencedAt = Date.now();
    lost.silence();
    const done = await finished(id, 'the run on the other proplet', 4 * ALIVE_TIMEOUT_MS);
    const recoveredMs = Date.now() - silencedAt;
    assert.equal(done.state, TaskState.Completed);
    assert.equal(done.proplet_id, other.id);
    // Detection takes the alive timeout (and a sweep); re-dispatch must not take as long again.
    assert.ok(recoveredMs < 2 * ALIVE_TIMEOUT_MS + 500, `recovered in ${recoveredMs} ms`);
    const history = await attemptsOf(id);
    assert.deepEqual(
      history.map((run) => [run.proplet_id, run.outcome]),
      [
        [lost.id, 'proplet_lost'],
        [other.id, 'completed'],
      ],
    );
    assert.match(history[0]!.error, new RegExp(`^proplet ${lost.id} lost before reporting`));

    await lost.publishResult(id, 'late and different');
    await sleep(500);
    const after = await taskOf(id);
    assert.equal(after.results, done.results);
    assert.equal((await attemptsOf(id)).filter((run) => run.outcome === 'completed').length, 1);
    lost.beat();
    await waitFor(async () => (await api('GET', `/proplets/${lost.id}`)).body?.alive === true, 'back');
  });

  it('re-dispatches at once on a last will, and fails a task that allows no retry', async () => {
    const crashing = await proplet();
    const id = await startTask({ name: 'hang-once pinned', proplet_id: crashing.id, max_retries: 0 });
    await crashing.waitForStart(id);
    crashing.crash();
    const failed = await finished(id, 'the failure', 3 * ALIVE_TIMEOUT_MS);
    assert.equal(failed.state, TaskState.Failed);
    assert.equal(
      failed.error,
      `proplet ${crashing.id} lost before reporting (heartbeats stopped, or its last will)`,
    );
    assert.deepEqual(
      (await attemptsOf(id)).map((run) => run.outcome),
      ['proplet_lost'],
    );
  });

  it('starts counting retries afresh when a user starts the task again, keeping its history', async () => {
    const id = await startTask({ name: 'hang', timeout: 1, max_retries: 0 });
    await finished(id);
    assert.equal((await api('POST', `/tasks/${id}/start`)).status, 200);
    const again = await finished(id, 'the second start');
    assert.equal(again.retries, 0);
    assert.equal((await attemptsOf(id)).length, 2);
  });

  it('refuses bad retry settings naming the field, and answers 404 for the attempts of no task', async () => {
    for (const max_retries of [-1, 101, 1.5, '2']) {
      const refused = await api('POST', '/tasks', { name: 'x', file: WASM, max_retries });
      assert.equal(refused.status, 400, String(max_retries));
      assert.match(refused.body.error, /max_retries/);
    }
    const refused = await api('POST', '/tasks', { name: 'x', file: WASM, retry_on_error: 'yes' });
    assert.equal(refused.status, 400);
    assert.match(refused.body.error, /retry_on_error/);
    const unknown = await api('GET', '/tasks/6f1c1a2e-3b4d-4c5e-8f90-123456789abc/attempts');
    assert.equal(unknown.status, 404);
    assert.equal((await api('GET', '/tasks/not-a-uuid/attempts')).status, 400);
  });

  it('changes max_retries and retry_on_error with PUT', async () => {
    const created = await api('POST', '/tasks', { name: 'x', file: WASM });
    assert.equal(created.body.max_retries, undefined);
    const updated = await api('PUT', `/tasks/${created.body.id}`, { max_retries: 7, retry_on_error: true });
    assert.equal(updated.status, 200);
    assert.equal(updated.body.max_retries, 7);
    assert.equal(updated.body.retry_on_error, true);
    assert.deepEqual((await attemptsOf(created.body.id)).length, 0);
  });
});
