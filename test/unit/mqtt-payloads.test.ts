import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TaskState } from '../../src/domain/task-state.ts';
import {
  compactMetadata,
  discoveryPayload,
  heartbeatPayload,
  resultPayload,
} from '../../src/mqtt/inbound-payloads.ts';
import {
  buildStartMessage,
  buildStopMessage,
  startMessage,
  stopMessage,
} from '../../src/mqtt/outbound-payloads.ts';
import {
  channelBase,
  ingressSubscriptions,
  MANAGER_TOPICS,
  PROPLET_TOPICS,
  propletTopicKind,
} from '../../src/mqtt/topics.ts';
import { makeTask } from './task-fixture.ts';

/** Parses the text of an MQTT message, as the ingress receives it. */
const wire = (text: string): unknown => JSON.parse(text);

/** The metadata of a discovery message, with every key it may hold. */
const metadataOf = (body: unknown): Record<string, unknown> => discoveryPayload.parse(body).metadata;

describe('discoveryPayload', () => {
  const upstream =
    '{"proplet_id":"p-1","namespace":"default","metadata":{"environment":"docker","os":"linux","cpu_arch":"x86_64","total_memory_bytes":8221675520,"proplet_version":"0.x","wasm_runtime":"wasmtime-internal"}}';

  it('reads the upstream example, keeping total_memory_bytes as a number', () => {
    const payload = discoveryPayload.parse(wire(upstream));
    assert.equal(payload.proplet_id, 'p-1');
    assert.equal(payload.namespace, 'default');
    assert.equal(metadataOf(wire(upstream)).total_memory_bytes, 8221675520);
    assert.deepEqual(compactMetadata(payload.metadata), {
      environment: 'docker',
      os: 'linux',
      cpu_arch: 'x86_64',
      total_memory_bytes: 8221675520,
      proplet_version: '0.x',
      wasm_runtime: 'wasmtime-internal',
    });
  });

  it('reads every optional metadata key', () => {
    const metadata = metadataOf({
      proplet_id: 'p-2',
      metadata: {
        description: 'edge box',
        tags: ['a', 'b'],
        location: 'lab',
        ip: '10.0.0.2',
        hostname: 'box',
        environment: '',
      },
    });
    assert.deepEqual(metadata.tags, ['a', 'b']);
    assert.equal(metadata.description, 'edge box');
    assert.equal(metadata.location, 'lab');
    assert.equal(metadata.ip, '10.0.0.2');
    assert.equal(metadata.hostname, 'box');
    assert.equal(metadata.environment, '');
  });

  it('accepts total_memory_bytes as a numeric string', () => {
    const metadata = metadataOf({ proplet_id: 'p-1', metadata: { total_memory_bytes: '1024' } });
    assert.equal(metadata.total_memory_bytes, 1024);
  });

  it('rejects a negative or non-numeric total_memory_bytes', () => {
    for (const total_memory_bytes of [-1, '12 GB', '-5', true]) {
      assert.equal(
        discoveryPayload.safeParse({ proplet_id: 'p-1', metadata: { total_memory_bytes } }).success,
        false,
        String(total_memory_bytes),
      );
    }
  });

  it('rejects a missing, empty or non-string proplet_id', () => {
    for (const body of [{}, { proplet_id: '' }, { proplet_id: '   ' }, { proplet_id: 7 }]) {
      assert.equal(discoveryPayload.safeParse(body).success, false, JSON.stringify(body));
    }
  });

  it('rejects a proplet_id longer than 255 characters', () => {
    assert.equal(discoveryPayload.safeParse({ proplet_id: 'p'.repeat(256) }).success, false);
    assert.equal(discoveryPayload.safeParse({ proplet_id: 'p'.repeat(255) }).success, true);
  });

  it('reads null or missing metadata as an empty object', () => {
    assert.deepEqual(discoveryPayload.parse({ proplet_id: 'p-1', metadata: null }).metadata, {});
    assert.deepEqual(discoveryPayload.parse({ proplet_id: 'p-1' }).metadata, {});
  });

  it('reads null metadata values as absent', () => {
    const payload = discoveryPayload.parse({
      proplet_id: 'p-1',
      namespace: null,
      metadata: { os: null, tags: null, total_memory_bytes: null },
    });
    assert.equal(payload.namespace, undefined);
    assert.deepEqual(compactMetadata(payload.metadata), {});
  });
});

describe('heartbeatPayload', () => {
  it('reads an upstream heartbeat', () => {
    const payload = heartbeatPayload.parse(
      wire('{"proplet_id":"p-1","status":"alive","namespace":"default"}'),
    );
    assert.deepEqual(payload, { proplet_id: 'p-1', status: 'alive', namespace: 'default' });
  });

  it('keeps the offline status of a last will', () => {
    assert.equal(heartbeatPayload.parse({ proplet_id: 'p-1', status: 'offline' }).status, 'offline');
  });

  it('does not require a status', () => {
    assert.equal(heartbeatPayload.parse({ proplet_id: 'p-1' }).status, undefined);
  });

  it('rejects a heartbeat without proplet_id', () => {
    assert.equal(heartbeatPayload.safeParse({ status: 'alive' }).success, false);
    assert.equal(heartbeatPayload.safeParse({ proplet_id: '', status: 'alive' }).success, false);
  });
});

describe('resultPayload', () => {
  it('reads a successful upstream result', () => {
    const payload = resultPayload.parse(
      wire(
        '{"task_id":"0b8f3c9e-6a43-4f5b-9d1e-2c7a8b9e0f11","proplet_id":"p-1","results":"3","error":null}',
      ),
    );
    assert.equal(payload.task_id, '0b8f3c9e-6a43-4f5b-9d1e-2c7a8b9e0f11');
    assert.equal(payload.proplet_id, 'p-1');
    assert.equal(payload.results, '3');
    assert.equal(payload.error, null);
  });

  it('reads an error string', () => {
    const payload = resultPayload.parse({
      task_id: '0b8f3c9e-6a43-4f5b-9d1e-2c7a8b9e0f11',
      results: '',
      error: 'Task was cancelled or panicked',
    });
    assert.equal(payload.error, 'Task was cancelled or panicked');
  });

  it('keeps an object result (federated rounds) as sent', () => {
    const results = {
      task_id: '0b8f3c9e-6a43-4f5b-9d1e-2c7a8b9e0f11',
      round_id: 'r-1',
      num_samples: 10,
      metrics: {},
    };
    assert.deepEqual(
      resultPayload.parse({ task_id: '0b8f3c9e-6a43-4f5b-9d1e-2c7a8b9e0f11', results }).results,
      results,
    );
  });

  it('accepts a result without proplet_id', () => {
    assert.equal(
      resultPayload.parse({ task_id: '0b8f3c9e-6a43-4f5b-9d1e-2c7a8b9e0f11', results: '3' }).proplet_id,
      undefined,
    );
  });

  it('rejects a missing, empty or non-UUID task_id', () => {
    assert.equal(resultPayload.safeParse({ proplet_id: 'p-1', results: '3' }).success, false);
    assert.equal(resultPayload.safeParse({ task_id: '', results: '3' }).success, false);
    assert.equal(resultPayload.safeParse({ task_id: 't-1', results: '3' }).success, false);
  });

  it('rejects a non-string error', () => {
    assert.equal(
      resultPayload.safeParse({ task_id: '0b8f3c9e-6a43-4f5b-9d1e-2c7a8b9e0f11', error: 42 }).success,
      false,
    );
  });
});

describe('compactMetadata', () => {
  it('drops undefined values and keeps every other value', () => {
    assert.deepEqual(compactMetadata({ a: undefined, b: null, c: 0, d: '', e: false, f: 'x' }), {
      b: null,
      c: 0,
      d: '',
      e: false,
      f: 'x',
    });
  });
});

describe('buildStartMessage', () => {
  const wasm = Buffer.from('\0asm\x01\0\0\0');

  it('matches the worked example of spec 3.7, key for key', () => {
    const task = makeTask({
      id: 'task-1',
      name: 'add',
      file: wasm,
      inputs: ['1', '2'],
      cliArgs: [],
      env: {},
      imageUrl: '',
      kbsResourcePath: '',
      halStoragePath: '',
    });
    const message = buildStartMessage(task, 'p-1');
    assert.equal(
      JSON.stringify(message),
      JSON.stringify({
        id: 'task-1',
        name: 'add',
        state: 0,
        file: wasm.toString('base64'),
        inputs: ['1', '2'],
        cli_args: null,
        broadcast: false,
        daemon: false,
        latent: false,
        encrypted: false,
        proplet_id: 'p-1',
      }),
    );
    const json = JSON.parse(JSON.stringify(message));
    assert.deepEqual(startMessage.parse(json), json);
  });

  it('omits every optional key when the task has no value for it', () => {
    const json = JSON.parse(JSON.stringify(buildStartMessage(makeTask(), 'p-1')));
    for (const key of [
      'image_url',
      'file',
      'inputs',
      'env',
      'kbs_resource_path',
      'monitoring_profile',
      'hal_storage_path',
    ]) {
      assert.ok(!(key in json), `${key} should be omitted`);
    }
    assert.equal(json.cli_args, null);
    assert.equal(startMessage.safeParse(json).success, true);
  });

  it('omits an empty file and empty inputs', () => {
    const json = JSON.parse(
      JSON.stringify(buildStartMessage(makeTask({ file: new Uint8Array(), inputs: [] }), 'p-1')),
    );
    assert.ok(!('file' in json));
    assert.ok(!('inputs' in json));
  });

  it('carries every value the task has', () => {
    const monitoringProfile = {
      enabled: true,
      interval: 10,
      collect_cpu: true,
      collect_memory: false,
      collect_disk_io: true,
      collect_threads: false,
      collect_file_descriptors: true,
      export_to_mqtt: false,
      retain_history: true,
      history_size: 100,
    };
    const task = makeTask({
      id: 'task-2',
      name: 'main',
      state: TaskState.Scheduled,
      imageUrl: 'https://example.test/app.wasm',
      cliArgs: ['--invoke', 'main'],
      env: { A: '1' },
      daemon: true,
      latent: true,
      encrypted: true,
      kbsResourcePath: 'default/key/1',
      monitoringProfile,
      halStoragePath: '/var/hal',
      // Never part of the start message.
      metadata: { team: 'x' },
      mode: 'infer',
      schedule: '* * * * *',
      priority: 90,
    });
    const message = startMessage.parse(JSON.parse(JSON.stringify(buildStartMessage(task, 'p-9'))));
    assert.deepEqual(message, {
      id: 'task-2',
      name: 'main',
      state: 1,
      image_url: 'https://example.test/app.wasm',
      cli_args: ['--invoke', 'main'],
      broadcast: false,
      daemon: true,
      latent: true,
      env: { A: '1' },
      encrypted: true,
      kbs_resource_path: 'default/key/1',
      monitoring_profile: monitoringProfile,
      proplet_id: 'p-9',
      hal_storage_path: '/var/hal',
    });
    const raw = JSON.parse(JSON.stringify(buildStartMessage(task, 'p-9')));
    for (const key of ['metadata', 'mode', 'schedule', 'priority']) assert.ok(!(key in raw), key);
  });

  it('encodes the file as standard padded base64 of its bytes', () => {
    const file = Uint8Array.from([0xfb, 0xff, 0xfe, 0x00]);
    const message = buildStartMessage(makeTask({ file }), 'p-1');
    assert.equal(message.file, '+//+AA==');
    assert.deepEqual(Buffer.from(message.file, 'base64'), Buffer.from(file));
  });

  it('targets the given proplet, not the one the task was pinned to before', () => {
    const message = buildStartMessage(makeTask({ propletId: 'old', requestedPropletId: 'asked' }), 'p-3');
    assert.equal(message.proplet_id, 'p-3');
    assert.equal(message.broadcast, false);
  });
});

describe('buildStopMessage', () => {
  it('targets one proplet', () => {
    const message = buildStopMessage('task-1', 'p-1');
    assert.deepEqual(message, { id: 'task-1', broadcast: false, proplet_id: 'p-1' });
    assert.deepEqual(stopMessage.parse(message), message);
  });
});

describe('topics', () => {
  const base = channelBase('T', 'C');

  it('builds the channel base topic', () => {
    assert.equal(base, 'm/T/c/C');
  });

  it('names the upstream topics', () => {
    assert.equal(`${base}/${MANAGER_TOPICS.start}`, 'm/T/c/C/control/manager/start');
    assert.equal(`${base}/${MANAGER_TOPICS.stop}`, 'm/T/c/C/control/manager/stop');
    assert.equal(`${base}/${PROPLET_TOPICS.results}`, 'm/T/c/C/control/proplet/results');
  });

  it('recognises the proplet topics the manager handles', () => {
    assert.equal(propletTopicKind(base, 'm/T/c/C/control/proplet/create'), 'create');
    assert.equal(propletTopicKind(base, 'm/T/c/C/control/proplet/alive'), 'alive');
    assert.equal(propletTopicKind(base, 'm/T/c/C/control/proplet/results'), 'results');
    assert.equal(propletTopicKind(base, 'm/T/c/C/control/proplet/task_metrics'), 'taskMetrics');
    assert.equal(propletTopicKind(base, 'm/T/c/C/control/proplet/metrics'), 'propletMetrics');
    assert.equal(propletTopicKind(base, 'm/T/c/C/control/proplet/invoke_results'), 'invokeResults');
  });

  it('ignores other proplet topics', () => {
    for (const topic of [
      'm/T/c/C/control/proplet/metrics/extra',
      'm/T/c/C/control/proplet/results/extra',
      'm/T/c/C/control/manager/start',
      'm/T/c/C',
      'm/T/c/C/',
    ]) {
      assert.equal(propletTopicKind(base, topic), undefined, topic);
    }
  });

  it('ignores topics of another tenant or channel', () => {
    for (const topic of [
      'm/T/c/D/control/proplet/alive',
      'm/U/c/C/control/proplet/alive',
      'm/T/c/CC/control/proplet/alive',
      'x/m/T/c/C/control/proplet/alive',
    ]) {
      assert.equal(propletTopicKind(base, topic), undefined, topic);
    }
  });

  it('subscribes through MQTT 5 shared subscriptions: discovery and results durable, heartbeats and metrics live', () => {
    assert.deepEqual(ingressSubscriptions(base, 'propeller-ingress'), {
      durable: [
        '$share/propeller-ingress/m/T/c/C/control/proplet/create',
        '$share/propeller-ingress/m/T/c/C/control/proplet/results',
        '$share/propeller-ingress/m/T/c/C/control/proplet/invoke_results',
      ],
      live: [
        '$share/propeller-ingress-live/m/T/c/C/control/proplet/alive',
        '$share/propeller-ingress-live/m/T/c/C/control/proplet/task_metrics',
        '$share/propeller-ingress-live/m/T/c/C/control/proplet/metrics',
      ],
    });
  });
});
