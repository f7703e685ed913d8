import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TaskState } from '../../src/domain/task-state.ts';
import { QUEUE_NAMES } from '../../src/queue/catalog.ts';
import { freePort } from '../support/free-port.ts';
import { request, untilPropletAlive } from '../support/manager-harness.ts';
import { exitCode, managerProcesses, spawnManager } from '../support/manager-process.ts';
import { samplesOf, scrape, valueOf } from '../support/prometheus-text.ts';
import { SimulatedProplet } from '../support/simulated-proplet.ts';
import { waitFor } from '../support/wait.ts';

const WASM = Buffer.from('0061736d01000000', 'hex').toString('base64');
const WORKER_ROLES = ['scheduler', 'ingress', 'results', 'liveness'];

/** The JSON log lines of a process's output. */
function logLines(output: string): Array<Record<string, unknown>> {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('/metrics and logs of an api process and a worker process', () => {
  const processes = managerProcesses();

  it('each exports its own series after real traffic, and logs one line per request and per job', async () => {
    const metricsPort = await freePort();
    const workerEnv = { ...processes.env, MANAGER_METRICS_PORT: String(metricsPort) };
    const apiProcess = processes.spawn(['api']);
    const workers = spawnManager(WORKER_ROLES, workerEnv);
    processes.children.push(workers);
    const { baseUrl } = processes;
    const workerMetrics = `http://127.0.0.1:${metricsPort}/metrics`;
    await waitFor(async () => (await request(baseUrl, 'GET', '/health')).status === 200, 'api', 30_000);
    await waitFor(async () => (await fetch(workerMetrics)).ok, 'worker metrics', 30_000);

    const proplet = new SimulatedProplet({
      tenantId: processes.env.MANAGER_TENANT_ID!,
      channelId: processes.env.MANAGER_CHANNEL_ID!,
    });
    let taskId: string;
    try {
      await proplet.start();
      await untilPropletAlive(baseUrl, proplet.id, 30_000);
      const created = await request(baseUrl, 'POST', '/tasks', { name: 'observed', file: WASM });
      assert.equal(created.status, 201);
      taskId = created.body.id as string;
      assert.equal((await request(baseUrl, 'POST', `/tasks/${taskId}/start`)).status, 200);
      await waitFor(
        async () => (await request(baseUrl, 'GET', `/tasks/${taskId}`)).body.state === TaskState.Completed,
        'task completed',
        30_000,
      );
      assert.equal((await request(baseUrl, 'GET', '/no-such-page')).status, 404);
      await proplet.publish('control/proplet/results', 'this is not JSON');

      // The api: requests, upstream's series and the state of the system; no worker's series.
      // A source read for the first time may take longer than a scrape waits (queues in PGlite, say).
      const api = await waitFor(async () => {
        const e = await scrape(`${baseUrl}/metrics`);
        const up = valueOf(e, 'propeller_metrics_source_up', { source: 'queues' }) === 1;
        return up && valueOf(e, 'propeller_tasks', { state: 'completed' }) === 1 ? e : undefined;
      }, 'one completed task in the api metrics');
      const requests = (labels: Record<string, string>) =>
        valueOf(api, 'propeller_http_requests_total', labels);
      assert.equal(requests({ method: 'POST', route: '/tasks', status: '201' }), 1);
      assert.equal(requests({ method: 'POST', route: '/tasks/:taskId/start', status: '200' }), 1);
      assert.equal(requests({ method: 'GET', route: 'unmatched', status: '404' }), 1);
      assert.equal(valueOf(api, 'manager_api_request_count', { method: 'create-task' }), 1);
      assert.equal(valueOf(api, 'manager_api_request_count', { method: 'start-task' }), 1);
      assert.equal(valueOf(api, 'propeller_proplets_alive'), 1);
      assert.deepEqual(
        [...new Set(samplesOf(api, 'propeller_queue_depth').map((s) => s.labels.queue))].sort(),
        [...QUEUE_NAMES].sort(),
      );
      assert.equal(samplesOf(api, 'propeller_queue_jobs_processed_total').length, 0);
      assert.equal(samplesOf(api, 'propeller_build_info')[0]?.labels.roles, 'api');

      // The workers: jobs, MQTT both ways, latencies, rejections; no requests, no state gauges.
      const worker = await waitFor(async () => {
        const e = await scrape(workerMetrics);
        const rejected = valueOf(e, 'propeller_mqtt_rejected_payloads_total', {
          topic: 'control/proplet/results',
          reason: 'not_json',
        });
        return rejected === 1 ? e : undefined;
      }, 'the malformed payload counted');
      const jobs = (labels: Record<string, string>) =>
        valueOf(worker, 'propeller_queue_jobs_processed_total', labels);
      assert.equal(jobs({ queue: 'task-start', job: 'start', outcome: 'completed' }), 1);
      assert.equal(jobs({ queue: 'task-results', job: 'result', outcome: 'completed' }), 1);
      assert.ok(jobs({ queue: 'proplet-liveness', job: 'discovery', outcome: 'completed' }) >= 1);
      assert.ok(jobs({ queue: 'proplet-liveness', job: 'heartbeats', outcome: 'completed' }) >= 1);
      assert.equal(jobs({ outcome: 'failed' }), 0);
      assert.equal(valueOf(worker, 'propeller_task_dispatch_seconds_count'), 1);
      assert.equal(valueOf(worker, 'propeller_task_end_to_end_seconds_count', { outcome: 'completed' }), 1);
      assert.equal(
        valueOf(worker, 'propeller_mqtt_messages_out_total', { topic: 'control/manager/start' }),
        1,
      );
      assert.equal(
        valueOf(worker, 'propeller_mqtt_messages_in_total', { topic: 'control/proplet/results' }),
        2,
      );
      assert.ok(valueOf(worker, 'propeller_mqtt_messages_in_total', { topic: 'control/proplet/alive' }) >= 1);
      assert.ok(valueOf(worker, 'process_resident_memory_bytes') > 0);
      assert.equal(samplesOf(worker, 'propeller_http_requests_total').length, 0);
      assert.equal(samplesOf(worker, 'propeller_queue_depth').length, 0);
      assert.equal(
        samplesOf(worker, 'propeller_build_info')[0]?.labels.roles,
        'ingress,liveness,results,scheduler',
      );
      assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/other`)).status, 404);
      assert.equal((await fetch(workerMetrics, { method: 'POST' })).status, 405);
    } finally {
      await proplet.stop();
    }

    // A second worker process on the same host and port refuses to start, naming the variable.
    const clash = spawnManager(['results'], workerEnv);
    processes.children.push(clash);
    assert.equal(await exitCode(clash, 30_000), 1);
    assert.match(clash.output(), /MANAGER_METRICS_PORT: port \d+ is in use/);

    const requestLine = await waitFor(
      () =>
        logLines(apiProcess.output()).find(
          (line) => line.msg === 'request' && line.route === '/tasks/:taskId/start',
        ),
      'the request line of the start',
    );
    assert.equal(requestLine.method, 'POST');
    assert.equal(requestLine.status, 200);
    assert.equal(requestLine.path, `/tasks/${taskId}/start`);
    assert.equal(typeof requestLine.durationMs, 'number');
    const jobLine = (queue: string) =>
      logLines(workers.output()).find(
        (line) => line.msg === 'job completed' && line.queue === queue && line.taskId === taskId,
      );
    const start = await waitFor(() => jobLine('task-start'), 'the line of the start job');
    assert.equal(start.job, 'start');
    assert.equal(start.attempt, 1);
    assert.equal(start.jobAttempt, 1);
    assert.equal(start.outcome, 'completed');
    assert.equal(typeof start.jobId, 'string');
    assert.equal(typeof start.durationMs, 'number');
    const result = await waitFor(() => jobLine('task-results'), 'the line of the result job');
    assert.equal(result.propletId, proplet.id);
    for (const child of [apiProcess, workers]) assert.ok(!child.output().includes(WASM), 'no Wasm in logs');

    for (const child of [apiProcess, workers]) child.kill('SIGTERM');
    for (const child of [apiProcess, workers]) assert.equal(await exitCode(child), 0, child.output());
  });
});
