import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { TaskState } from '../../src/domain/task-state.ts';
import { request, startTestManager, type TestManager } from '../support/manager-harness.ts';
import { SimulatedProplet } from '../support/simulated-proplet.ts';
import { waitFor } from '../support/wait.ts';

const WASM = Buffer.from('0061736d01000000', 'hex').toString('base64');
const { Pending, Running, Completed, Failed, Skipped } = TaskState;

let harness: TestManager;
let proplet: SimulatedProplet;

const api = (method: string, path: string, body?: unknown) => request(harness.baseUrl, method, path, body);

/**
 * Tasks named `fail…` fail, `hold…` keep running until the test publishes their result; every other task
 * completes at once with `ran <name>`.
 */
function answer(start: { name: string }) {
  if (start.name.startsWith('fail')) return { results: null, error: `${start.name} broke` };
  if (start.name.startsWith('hold')) return 'keep-running' as const;
  return { results: `ran ${start.name}` };
}

const task = (name: string, extra: Record<string, unknown> = {}) => ({ name, file: WASM, ...extra });

async function stateOf(id: string): Promise<number> {
  return (await api('GET', `/tasks/${id}`)).body.state as number;
}

async function waitForStates(expected: Record<string, number>, timeoutMs = 10_000): Promise<void> {
  await waitFor(
    async () => {
      for (const [id, state] of Object.entries(expected)) if ((await stateOf(id)) !== state) return false;
      return true;
    },
    `states ${JSON.stringify(expected)}`,
    timeoutMs,
  );
}

before(async () => {
  harness = await startTestManager();
  proplet = new SimulatedProplet(harness.config.mqtt, answer);
  await proplet.start();
  await waitFor(async () => (await api('GET', `/proplets/${proplet.id}`)).body?.alive === true, 'alive');
});

after(async () => {
  await proplet.stop();
  await harness.close();
});

describe('workflows', () => {
  it('refuses invalid workflows with 400 naming the problem, and creates nothing', async () => {
    const before = (await api('GET', '/tasks')).body.total;
    const [a, b] = [randomUUID(), randomUUID()];
    const cases: Array<[unknown, RegExp]> = [
      [{ tasks: [] }, /tasks: must list at least one task/],
      [{}, /tasks/],
      [{ tasks: [{ file: WASM }] }, /tasks\.0: name: /],
      [{ tasks: [task('x', { run_if: 'sometimes' })] }, /tasks\.0: run_if: /],
      [{ tasks: [task('x', { id: a, depends_on: [a] })] }, /depends on itself/],
      [{ tasks: [task('x', { id: a, depends_on: [b] })] }, /depends on .*not one of its tasks/],
      [
        {
          tasks: [task('x', { id: a, depends_on: [b] }), task('y', { id: b, depends_on: [a] })],
        },
        /cycle/,
      ],
      [{ tasks: [task('x', { id: 'not-a-uuid' })] }, /tasks\.0: id: must be a UUID/],
      [{ tasks: [task('x', { schedule: '* * * * *' })] }, /tasks\.0: schedule: not supported/],
      [
        { tasks: [task('x', { job_id: randomUUID() })] },
        /tasks\.0: job_id: a task belongs to a workflow or to a job/,
      ],
    ];
    for (const [body, message] of cases) {
      const response = await api('POST', '/workflows', body);
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.match(response.body.error, message);
    }
    assert.equal((await api('GET', '/tasks')).body.total, before);
  });

  it('runs a DAG of six tasks with a failure branch: skipped descendants, handler and join', async () => {
    const [root, breaks, onSuccess, afterSuccess, onFailure, join] = [1, 2, 3, 4, 5, 6].map(() =>
      randomUUID(),
    ) as [string, string, string, string, string, string];
    const created = await api('POST', '/workflows', {
      tasks: [
        task('root', { id: root }),
        task('fail-step', { id: breaks, depends_on: [root] }),
        task('on-success', { id: onSuccess, depends_on: [breaks], run_if: 'success' }),
        task('after-success', { id: afterSuccess, depends_on: [onSuccess] }),
        task('on-failure', { id: onFailure, depends_on: [breaks], run_if: 'failure' }),
        task('join', { id: join, depends_on: [root, onFailure] }),
      ],
    });
    assert.equal(created.status, 201);
    const workflowId = created.body.workflow_id as string;
    assert.equal(created.headers.get('location'), `/workflows/${workflowId}`);
    assert.deepEqual(
      created.body.tasks.map((t: { id: string }) => t.id),
      [root, breaks, onSuccess, afterSuccess, onFailure, join],
    );
    assert.ok(created.body.tasks.every((t: { workflow_id: string }) => t.workflow_id === workflowId));

    // A task whose parents have not finished cannot be started by hand.
    const early = await api('POST', `/tasks/${join}/start`);
    assert.equal(early.status, 409);
    assert.match(early.body.error, /unmet dependencies/);

    assert.equal((await api('POST', `/tasks/${root}/start`)).status, 200);
    await waitForStates({
      [root]: Completed,
      [breaks]: Failed,
      [onSuccess]: Skipped,
      [afterSuccess]: Skipped,
      [onFailure]: Completed,
      [join]: Completed,
    });

    const joinStart = await proplet.waitForStart(join);
    assert.deepEqual(joinStart.parent_results, { [root]: 'ran root', [onFailure]: 'ran on-failure' });
    assert.deepEqual((await proplet.waitForStart(onFailure)).parent_results, {});
    assert.equal(
      proplet.starts.some((start) => start.id === onSuccess || start.id === afterSuccess),
      false,
    );

    const view = await api('GET', `/workflows/${workflowId}`);
    assert.equal(view.status, 200);
    assert.equal(view.body.workflow_id, workflowId);
    assert.equal(view.body.state, Failed);
    assert.equal(view.body.tasks.length, 6);
    assert.notEqual(view.body.finish_time, '0001-01-01T00:00:00Z');
  });

  it('moves on a workflow whose progress was lost, at the next sweep', async () => {
    const [parent, child] = [randomUUID(), randomUUID()];
    await api('POST', '/workflows', {
      tasks: [task('parent', { id: parent }), task('child', { id: child, depends_on: [parent] })],
    });
    // The parent finished while the queue was away: its result applied, its progress never queued.
    await harness.manager.resources.postgres.pool.query(
      'UPDATE tasks SET state = $1, results = $2, finish_time = now() WHERE id = $3',
      [Completed, JSON.stringify('done'), parent],
    );
    await sleep(300);
    assert.equal(await stateOf(child), Pending);
    await harness.manager.resources.queues.enqueue('group-progress', 'sweep', {});
    await waitForStates({ [child]: Completed });
  });

  it('answers 404 for an unknown workflow and 400 for a bad id', async () => {
    assert.equal((await api('GET', `/workflows/${randomUUID()}`)).status, 404);
    assert.equal((await api('GET', '/workflows/nope')).status, 400);
  });

  it('lets a task created on its own join a workflow and depend on its tasks', async () => {
    const parent = randomUUID();
    const created = await api('POST', '/workflows', { tasks: [task('parent', { id: parent })] });
    const workflowId = created.body.workflow_id as string;

    const orphan = await api('POST', '/tasks', task('child', { depends_on: [parent] }));
    assert.equal(orphan.status, 400);
    assert.match(orphan.body.error, /depends_on needs a workflow_id or a job_id/);
    const stranger = await api(
      'POST',
      '/tasks',
      task('child', { workflow_id: workflowId, depends_on: [randomUUID()] }),
    );
    assert.equal(stranger.status, 400);
    assert.match(stranger.body.error, /not in its workflow/);

    const child = await api(
      'POST',
      '/tasks',
      task('child', { workflow_id: workflowId, depends_on: [parent] }),
    );
    assert.equal(child.status, 201);
    await api('POST', `/tasks/${parent}/start`);
    await waitForStates({ [parent]: Completed, [child.body.id]: Completed });
  });
});

async function createJob(body: Record<string, unknown>): Promise<{ jobId: string; ids: string[] }> {
  const created = await api('POST', '/jobs', body);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.headers.get('location'), `/jobs/${created.body.job_id}`);
  return { jobId: created.body.job_id, ids: created.body.tasks.map((t: { id: string }) => t.id) };
}

const startedIds = () => proplet.starts.map((start) => start.id);

describe('jobs', () => {
  it('runs a parallel job: every task at once, then the job is Completed and listed so', async () => {
    const { jobId, ids } = await createJob({
      name: 'three at once',
      execution_mode: 'parallel',
      tasks: [task('a'), task('b'), task('c')],
    });
    const job = await api('GET', `/jobs/${jobId}`);
    assert.equal(job.status, 200);
    assert.equal(job.body.job_id, jobId);
    assert.equal(job.body.name, 'three at once');
    assert.equal(job.body.execution_mode, 'parallel');
    assert.equal(job.body.state, Pending);
    assert.equal(job.body.tasks.length, 3);

    const started = await api('POST', `/jobs/${jobId}/start`);
    assert.equal(started.status, 200);
    assert.deepEqual(started.body, { message: 'job started', job_id: jobId });
    await waitForStates(Object.fromEntries(ids.map((id) => [id, Completed])));
    assert.equal((await api('GET', `/jobs/${jobId}`)).body.state, Completed);

    const completed = await api('GET', '/jobs?status=completed&limit=1000');
    assert.ok(completed.body.jobs.some((j: { job_id: string }) => j.job_id === jobId));
    const running = await api('GET', '/jobs?status=running&limit=1000');
    assert.ok(!running.body.jobs.some((j: { job_id: string }) => j.job_id === jobId));
    assert.equal((await api('GET', '/jobs?status=sideways')).status, 400);

    // A finished job starts again from the beginning.
    assert.equal((await api('POST', `/jobs/${jobId}/start`)).status, 200);
    await waitFor(
      async () =>
        (await api('GET', `/tasks/${ids[0]}`)).body.attempt === 2 && (await stateOf(ids[0]!)) === Completed,
      'second run',
    );
  });

  it('runs a sequential job one task at a time, each after the previous one finished', async () => {
    const { jobId, ids } = await createJob({
      execution_mode: 'sequential',
      tasks: [task('hold-1'), task('hold-2'), task('hold-3')],
    });
    const [first, second, third] = ids as [string, string, string];
    await api('POST', `/jobs/${jobId}/start`);
    await proplet.waitForStart(first);
    await sleep(300);
    assert.ok(!startedIds().includes(second), 'the second task waits for the first');

    await proplet.publishResult(first, 'one');
    await proplet.waitForStart(second);
    await sleep(300);
    assert.ok(!startedIds().includes(third), 'the third task waits for the second');
    await proplet.publishResult(second, 'two');
    await proplet.waitForStart(third);
    await proplet.publishResult(third, 'three');
    await waitForStates({ [first]: Completed, [second]: Completed, [third]: Completed });
  });

  it('runs a configurable job in dependency order', async () => {
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    const { jobId } = await createJob({
      execution_mode: 'configurable',
      tasks: [
        task('c', { id: c, depends_on: [b] }),
        task('b', { id: b, depends_on: [a] }),
        task('a', { id: a }),
      ],
    });
    await api('POST', `/jobs/${jobId}/start`);
    await waitForStates({ [a]: Completed, [b]: Completed, [c]: Completed });
    const order = startedIds().filter((id) => [a, b, c].includes(id as typeof a));
    assert.deepEqual(order, [a, b, c]);
  });

  it('fails fast: a failed task stops the running ones and skips the waiting ones', async () => {
    const [broken, running, waiting] = [randomUUID(), randomUUID(), randomUUID()];
    const { jobId } = await createJob({
      execution_mode: 'parallel',
      tasks: [
        task('hold-long', { id: running }),
        task('fail-now', { id: broken }),
        task('after-long', { id: waiting, depends_on: [running] }),
      ],
    });
    await api('POST', `/jobs/${jobId}/start`);
    await waitForStates({ [broken]: Failed, [running]: Failed, [waiting]: Skipped });
    await proplet.waitForStop(running);
    assert.equal((await api('GET', `/jobs/${jobId}`)).body.state, Failed);
    const failed = await api('GET', '/jobs?status=failed&limit=1000');
    assert.ok(failed.body.jobs.some((j: { job_id: string }) => j.job_id === jobId));
  });

  it('stops a job: running tasks stopped, waiting ones skipped, failure handlers not set off', async () => {
    const [running, waiting, handler] = [randomUUID(), randomUUID(), randomUUID()];
    const { jobId } = await createJob({
      tasks: [
        task('hold-on', { id: running }),
        task('next', { id: waiting, depends_on: [running] }),
        task('handler', { id: handler, depends_on: [running], run_if: 'failure' }),
      ],
    });
    await api('POST', `/jobs/${jobId}/start`);
    await proplet.waitForStart(running);
    const stopped = await api('POST', `/jobs/${jobId}/stop`);
    assert.deepEqual(stopped.body, { message: 'job stopped', job_id: jobId });
    await waitForStates({ [running]: Failed, [waiting]: Skipped, [handler]: Skipped });
    await proplet.waitForStop(running);
    await sleep(200);
    assert.ok(!startedIds().includes(handler));
  });

  it('refuses to start a job with a task that has no Wasm, or one already running, changing nothing', async () => {
    const { jobId, ids } = await createJob({ tasks: [task('a'), { name: 'empty' }] });
    const refused = await api('POST', `/jobs/${jobId}/start`);
    assert.equal(refused.status, 400);
    assert.match(refused.body.error, /\(empty\) cannot start: the task has neither file nor image_url/);
    assert.equal(await stateOf(ids[0]!), Pending);

    const held = await createJob({ tasks: [task('hold-job')] });
    await api('POST', `/jobs/${held.jobId}/start`);
    await waitForStates({ [held.ids[0]!]: Running });
    assert.equal((await api('POST', `/jobs/${held.jobId}/start`)).status, 409);
    await api('POST', `/jobs/${held.jobId}/stop`);
  });

  it('refuses a bad job body with 400, and answers 404 for an unknown job', async () => {
    const mode = await api('POST', '/jobs', { tasks: [task('a')], execution_mode: 'chaotic' });
    assert.equal(mode.status, 400);
    assert.match(mode.body.error, /execution_mode/);
    const unknown = randomUUID();
    assert.equal((await api('GET', `/jobs/${unknown}`)).status, 404);
    assert.equal((await api('POST', `/jobs/${unknown}/start`)).status, 404);
    assert.equal((await api('POST', `/jobs/${unknown}/stop`)).status, 404);
    assert.equal((await api('GET', '/jobs/nope')).status, 400);
  });

  it('lists jobs newest first with their tasks, and lists a job named only by a task', async () => {
    const jobId = randomUUID();
    const lone = await api('POST', '/tasks', task('lone', { job_id: jobId }));
    assert.equal(lone.status, 201);
    const listed = await api('GET', '/jobs?limit=1');
    assert.equal(listed.body.limit, 1);
    assert.equal(listed.body.jobs.length, 1);
    assert.equal(listed.body.jobs[0].job_id, jobId);
    assert.equal(listed.body.jobs[0].tasks[0].id, lone.body.id);
    assert.ok(listed.body.total >= 2);
  });
});
