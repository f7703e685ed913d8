import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { TaskState } from '../../src/domain/task-state.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { RejectedPayloads } from '../../src/observability/rejected-payloads.ts';
import { DispatchService } from '../../src/services/dispatch-service.ts';
import { ResultService } from '../../src/services/result-service.ts';
import { request, startTestManager, type TestManager } from '../support/manager-harness.ts';
import { SimulatedProplet } from '../support/simulated-proplet.ts';
import { waitFor } from '../support/wait.ts';

const WASM = Buffer.from('0061736d01000000', 'hex').toString('base64');
const logger = createLogger('silent');

/**
 * BullMQ delivers a job at least once: a worker that dies after doing the work but before acknowledging
 * it leaves the job to run again. Running the same start or result job twice must change nothing more.
 */
let harness: TestManager;
let proplet: SimulatedProplet;
const api = (method: string, path: string, body?: unknown) => request(harness.baseUrl, method, path, body);

before(async () => {
  harness = await startTestManager();
  proplet = await new SimulatedProplet(harness.config.mqtt, () => 'keep-running').start();
  await waitFor(async () => (await api('GET', `/proplets/${proplet.id}`)).body?.alive === true, 'alive');
});

after(async () => {
  await proplet.stop();
  await harness.close();
});

describe('jobs run twice', () => {
  it('a start job run again after it dispatched sends the same start to the same proplet and opens no second run', async () => {
    const { resources, config } = harness.manager;
    const created = await api('POST', '/tasks', { name: 'twice', file: WASM });
    const id = created.body.id as string;
    assert.equal((await api('POST', `/tasks/${id}/start`)).status, 200);
    await proplet.waitForStart(id);
    const dispatch = new DispatchService(
      resources.tasks,
      resources.liveness,
      resources.publisher,
      config.startTimeoutMs,
      resources.groups,
      resources.queues,
    );
    const job = { taskId: id, attempt: 1, requestedAt: Date.now() };
    await dispatch.start(job, logger);
    await dispatch.start(job, logger);
    await waitFor(() => proplet.starts.filter((start) => start.id === id).length === 3, 'starts re-sent');
    const task = (await api('GET', `/tasks/${id}`)).body;
    assert.equal(task.state, TaskState.Running);
    assert.equal(task.proplet_id, proplet.id);
    assert.equal((await api('GET', `/proplets/${proplet.id}`)).body.task_count, 1);
    const runs = (await api('GET', `/tasks/${id}/attempts`)).body.attempts;
    assert.equal(runs.length, 1);
    assert.equal(runs[0].outcome, 'running');
  });

  it('a result job run twice completes the task once and keeps the first result', async () => {
    const { resources } = harness.manager;
    const created = await api('POST', '/tasks', { name: 'result twice', file: WASM });
    const id = created.body.id as string;
    assert.equal((await api('POST', `/tasks/${id}/start`)).status, 200);
    await proplet.waitForStart(id);
    const results = new ResultService(
      resources.tasks,
      resources.stoppedRuns,
      resources.queues,
      resources.runRecovery,
      resources.proplets,
      new RejectedPayloads(logger),
    );
    const job = {
      taskId: id,
      propletId: proplet.id,
      results: 'first',
      error: null,
      receivedAt: Date.now(),
    };
    await results.apply(job, logger);
    const done = (await api('GET', `/tasks/${id}`)).body;
    await results.apply(job, logger);
    await results.apply({ ...job, results: 'different', receivedAt: Date.now() }, logger);
    await sleep(100);
    const after = (await api('GET', `/tasks/${id}`)).body;
    assert.equal(after.state, TaskState.Completed);
    assert.equal(after.results, 'first');
    assert.equal(after.finish_time, done.finish_time);
    assert.equal((await api('GET', `/proplets/${proplet.id}`)).body.task_count, 1);
    const runs = (await api('GET', `/tasks/${id}/attempts`)).body.attempts;
    assert.deepEqual(
      runs.map((run: Record<string, unknown>) => run.outcome),
      ['completed'],
    );
  });
});
