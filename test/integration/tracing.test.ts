import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt from 'mqtt';
import { TaskState } from '../../src/domain/task-state.ts';
import { startMessage } from '../../src/mqtt/outbound-payloads.ts';
import { request } from '../support/manager-harness.ts';
import { exitCode, managerProcesses, spawnManager, type ManagerProcess } from '../support/manager-process.ts';
import {
  SPAN_KIND,
  startOtlpReceiver,
  type OtlpReceiver,
  type ReceivedSpan,
} from '../support/otlp-receiver.ts';
import { SimulatedProplet } from '../support/simulated-proplet.ts';
import { TEST_MQTT_PROTOCOL_VERSION, TEST_MQTT_URL, TEST_REDIS_URL } from '../support/test-database.ts';
import { waitFor } from '../support/wait.ts';

const ROOT = new URL('../..', import.meta.url);
const WASM = Buffer.from('0061736d01000000', 'hex').toString('base64');
/** MQTT 5 carries the trace context to the proplet and back; MQTT 3.1.1 (aedes, bare machine) cannot. */
const MQTT5 = TEST_MQTT_PROTOCOL_VERSION === 5;
const OTEL_PACKAGES = /\/node_modules\/(@opentelemetry|bullmq-otel|import-in-the-middle)\//;

/** The span named `name`; fails naming what there was when there is not exactly one. */
function only(spans: ReceivedSpan[], name: string, where: (span: ReceivedSpan) => boolean = () => true) {
  const found = spans.filter((span) => span.name === name && where(span));
  assert.equal(found.length, 1, `one span ${name}; spans: ${spans.map((span) => span.name).join(', ')}`);
  return found[0]!;
}

/** Whether `span` descends from `ancestor` along parent links. */
function descendsFrom(spans: ReceivedSpan[], span: ReceivedSpan, ancestor: ReceivedSpan): boolean {
  const byId = new Map(spans.map((each) => [each.spanId, each]));
  for (let parent = span.parentSpanId; parent !== undefined; parent = byId.get(parent)?.parentSpanId)
    if (parent === ancestor.spanId) return true;
  return false;
}

async function stopGracefully(child: ManagerProcess): Promise<void> {
  child.kill('SIGTERM');
  assert.equal(await exitCode(child, 20_000), 0, child.output());
  assert.match(child.output(), /"msg":"stopped"/);
}

/** Records the raw start messages of a channel, as an upstream proplet would receive them. */
async function startSniffer(env: Record<string, string>) {
  const topic = `m/${env.MANAGER_TENANT_ID}/c/${env.MANAGER_CHANNEL_ID}/control/manager/start`;
  const client = await mqtt.connectAsync(TEST_MQTT_URL, {
    protocolVersion: TEST_MQTT_PROTOCOL_VERSION,
    reconnectPeriod: 0,
  });
  const received: Array<{ payload: string; userProperties?: Record<string, string | string[]> }> = [];
  client.on('message', (_topic, payload, packet) =>
    received.push({ payload: payload.toString('utf8'), userProperties: packet.properties?.userProperties }),
  );
  await client.subscribeAsync(topic, { qos: 1 });
  return { received, close: () => client.endAsync() };
}

/**
 * Manager processes (call inside describe) with a database, queues and MQTT channel of their own, and an
 * OTLP receiver they send their spans to.
 */
function tracedManagers() {
  const processes = managerProcesses();
  let otlp: OtlpReceiver;
  before(async () => {
    otlp = await startOtlpReceiver();
  });
  after(() => otlp.close());

  /** The environment of a traced manager; spans are sent every 100 ms rather than every 5 s. */
  const traced = (extra: Record<string, string> = {}): Record<string, string> => ({
    ...processes.env,
    MANAGER_OTEL_URL: otlp.url,
    OTEL_BSP_SCHEDULE_DELAY: '100',
    ...extra,
  });

  /**
   * Runs one task through the manager to Completed, answered by `proplet`; its id. The task is started
   * before the proplet comes: its start job waits, and is processed more than once, until it is alive.
   */
  async function runTask(proplet: SimulatedProplet): Promise<string> {
    const { baseUrl } = processes;
    await waitFor(
      async () => (await request(baseUrl, 'GET', '/health')).status === 200,
      'api health',
      60_000,
    );
    const task = (await request(baseUrl, 'POST', '/tasks', { name: 'hello', file: WASM })).body;
    assert.equal((await request(baseUrl, 'POST', `/tasks/${task.id}/start`)).status, 200);
    // The first retry of a start that found no proplet comes 250 ms later.
    await sleep(700);
    await proplet.start();
    await waitFor(
      async () => (await request(baseUrl, 'GET', `/tasks/${task.id}`)).body.state === TaskState.Completed,
      'task completed',
      30_000,
    );
    return task.id as string;
  }

  return {
    processes,
    get receiver() {
      return otlp;
    },
    traced,
    runTask,
  };
}

describe('tracing (OpenTelemetry, OTLP over HTTP)', () => {
  const managers = tracedManagers();
  const { processes, traced, runTask } = managers;

  it('loads no OpenTelemetry code unless MANAGER_OTEL_URL is set', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'propeller-imports-'));
    try {
      const loaded = async (name: string, env: Record<string, string>) => {
        const log = join(dir, `${name}.log`);
        const child = spawn(
          process.execPath,
          [
            '--import',
            'tsx',
            '--import',
            './test/support/record-imports.mjs',
            '--import',
            './src/observability/tracing-preload.mjs',
            'test/support/load-manager-modules.ts',
          ],
          { cwd: ROOT, env: { ...process.env, ...processes.env, ...env, IMPORT_LOG: log }, stdio: 'inherit' },
        );
        assert.equal(await exitCode(child, 60_000), 0);
        return (await readFile(log, 'utf8')).split('\n');
      };
      const off = await loaded('off', {});
      assert.ok(
        off.some((url) => url.includes('/src/manager.ts')),
        'the manager modules were loaded',
      );
      assert.deepEqual(
        off.filter((url) => OTEL_PACKAGES.test(url)),
        [],
      );
      const on = await loaded('on', { MANAGER_OTEL_URL: managers.receiver.url });
      assert.ok(on.some((url) => url.includes('/node_modules/@opentelemetry/sdk-node/')));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('follows a task in one trace from POST /tasks/{id}/start through the start job to the MQTT start, and its result through the ingress and the results worker', async () => {
    const env = traced();
    // Two processes, so the trace has to cross from one to the other through the queue.
    const api = spawnManager(['api'], env);
    const workers = spawnManager(['scheduler', 'ingress', 'results', 'liveness'], env);
    processes.children.push(api, workers);
    const sniffer = await startSniffer(env);
    const proplet = new SimulatedProplet({
      tenantId: env.MANAGER_TENANT_ID!,
      channelId: env.MANAGER_CHANNEL_ID!,
    });
    proplet.echoesTraceContext = true;
    let taskId: string;
    try {
      taskId = await runTask(proplet);
      await waitFor(() => sniffer.received.length > 0, 'the start on the wire');
    } finally {
      await proplet.stop();
      await sniffer.close();
    }
    // A graceful stop sends what is still buffered.
    await stopGracefully(api);
    await stopGracefully(workers);
    assert.deepEqual(managers.receiver.refused, []);
    const { spans } = managers.receiver;

    const http = only(spans, 'POST /tasks/:taskId/start', (span) => span.kind === SPAN_KIND.server);
    assert.deepEqual(http.resource['propeller.manager.roles'], ['api']);
    assert.equal(http.resource['service.name'], 'propeller-manager');
    const trace = spans.filter((span) => span.traceId === http.traceId);

    const add = only(trace, 'add task-start.start');
    assert.equal(add.kind, SPAN_KIND.producer);
    assert.ok(descendsFrom(trace, add, http), 'the start job was queued inside the request');
    // Each time the job was taken, waiting for the proplet, then dispatching: all in the trace of the start.
    const attempts = trace.filter((span) => span.name === 'process task-start');
    assert.ok(attempts.length >= 2, `the start job waited for the proplet (${attempts.length} runs)`);
    for (const attempt of attempts) {
      assert.equal(attempt.kind, SPAN_KIND.consumer);
      assert.equal(attempt.parentSpanId, add.spanId);
      assert.deepEqual(attempt.resource['propeller.manager.roles'], [
        'scheduler',
        'ingress',
        'results',
        'liveness',
      ]);
    }
    const publish = only(trace, 'publish control/manager/start');
    assert.equal(publish.kind, SPAN_KIND.producer);
    const processed = attempts.find((attempt) => attempt.spanId === publish.parentSpanId);
    assert.ok(processed, 'the start was published by a run of the start job');
    assert.equal(publish.attributes['propeller.task.id'], taskId);
    assert.equal(publish.attributes['propeller.proplet.id'], proplet.id);
    assert.equal(publish.attributes['messaging.system'], 'mqtt');

    // Postgres inside the request and inside the job; Redis where the queues are in Redis.
    const pg = trace.filter((span) => span.attributes['db.system.name'] === 'postgresql');
    assert.ok(pg.some((span) => span.parentSpanId !== undefined && descendsFrom(trace, span, http)));
    assert.ok(pg.some((span) => span.parentSpanId === processed.spanId));
    if (TEST_REDIS_URL !== undefined)
      assert.ok(
        trace.some((span) => span.attributes['db.system.name'] === 'redis' && descendsFrom(trace, span, add)),
      );

    // The start as upstream proplets get it: its payload is what it always was, the context beside it.
    const [wire] = sniffer.received;
    const payload = JSON.parse(wire!.payload) as Record<string, unknown>;
    assert.equal(payload.id, taskId);
    for (const key of Object.keys(payload)) assert.ok(key in startMessage.shape, `payload key ${key}`);
    assert.doesNotMatch(wire!.payload, new RegExp(http.traceId));
    const traceparent = `00-${http.traceId}-${publish.spanId}-01`;
    if (MQTT5) {
      assert.equal(wire!.userProperties?.traceparent, traceparent);
      assert.equal(proplet.startProperties.get(taskId)?.traceparent, traceparent);
    } else {
      // MQTT 3.1.1 has no user properties: nothing is carried, and nothing fails.
      assert.equal(wire!.userProperties, undefined);
      assert.equal(proplet.startProperties.size, 0);
    }

    // The result: the proplet sent the context back (MQTT 5), so it joins the trace of the start.
    const receive = only(
      spans,
      'receive control/proplet/results',
      (span) => span.attributes['propeller.task.id'] === taskId,
    );
    assert.equal(receive.kind, SPAN_KIND.consumer);
    assert.deepEqual(receive.resource['propeller.manager.roles'], [
      'scheduler',
      'ingress',
      'results',
      'liveness',
    ]);
    if (MQTT5) {
      assert.equal(receive.traceId, http.traceId);
      assert.equal(receive.parentSpanId, publish.spanId);
    } else {
      assert.notEqual(receive.traceId, http.traceId);
      assert.equal(receive.parentSpanId, undefined);
    }
    const resultTrace = spans.filter((span) => span.traceId === receive.traceId);
    const addResult = only(resultTrace, 'add task-results.result');
    assert.equal(addResult.parentSpanId, receive.spanId);
    const applied = only(
      resultTrace,
      'process task-results',
      (span) => span.parentSpanId === addResult.spanId,
    );
    assert.ok(
      resultTrace.some(
        (span) => span.attributes['db.system.name'] === 'postgresql' && span.parentSpanId === applied.spanId,
      ),
      'the result was written to Postgres inside the job',
    );
    // Heartbeats are many and go in batches: they start no traces.
    assert.ok(!spans.some((span) => span.name === 'add proplet-liveness.heartbeats'));
  });

  it('stops within its deadline when the collector never answers', async () => {
    // Accepts the connection, never answers: the export of buffered spans hangs until given up on.
    const silent: Server = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as AddressInfo;
      const env = traced({ MANAGER_OTEL_URL: `http://127.0.0.1:${port}`, OTEL_BSP_SCHEDULE_DELAY: '60000' });
      const manager = spawnManager(['api'], env);
      processes.children.push(manager);
      const { baseUrl } = processes;
      await waitFor(
        async () => (await request(baseUrl, 'GET', '/health')).status === 200,
        'api health',
        60_000,
      );
      // Spans wait in the buffer for the exit.
      assert.equal((await request(baseUrl, 'GET', '/tasks')).status, 200);
      const stopAt = Date.now();
      await stopGracefully(manager);
      const tookMs = Date.now() - stopAt;
      assert.ok(tookMs < 12_000, `stopped in ${tookMs} ms`);
      assert.match(manager.output(), /not every span reached the collector/);
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

// A database, queues and channel of its own: jobs queued by a sampled manager would carry their sampled
// trace context to this one, which rightly continues such traces.
describe('tracing at a sampling ratio of 0', () => {
  const managers = tracedManagers();
  const { processes, traced, runTask } = managers;

  it("keeps no trace of its own with MANAGER_TRACE_RATIO=0, and continues a caller's", async () => {
    const env = traced({ MANAGER_TRACE_RATIO: '0' });
    const manager = spawnManager([], env);
    processes.children.push(manager);
    const proplet = new SimulatedProplet({
      tenantId: env.MANAGER_TENANT_ID!,
      channelId: env.MANAGER_CHANNEL_ID!,
    });
    proplet.echoesTraceContext = true;
    try {
      await runTask(proplet);
    } finally {
      await proplet.stop();
    }
    // A caller's sampled trace is continued all the same (parent-based sampling).
    const caller = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };
    const traceparent = `00-${caller.traceId}-${caller.spanId}-01`;
    assert.equal((await request(processes.baseUrl, 'GET', '/tasks', undefined, { traceparent })).status, 200);
    await stopGracefully(manager);
    const { spans, refused } = managers.receiver;
    assert.deepEqual(refused, []);
    assert.deepEqual([...new Set(spans.map((span) => span.traceId))], [caller.traceId]);
    only(spans, 'GET /tasks', (span) => span.parentSpanId === caller.spanId);
  });
});
