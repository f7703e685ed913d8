import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import { TaskState } from '../../src/domain/task-state.ts';
import { channelBase, MANAGER_TOPICS } from '../../src/mqtt/topics.ts';
import {
  request,
  startTestManager,
  untilPropletAlive,
  type TestManager,
} from '../support/manager-harness.ts';
import { SimulatedProplet } from '../support/simulated-proplet.ts';
import { TEST_MQTT_PROTOCOL_VERSION, TEST_MQTT_URL } from '../support/test-database.ts';
import { waitFor } from '../support/wait.ts';

/**
 * The limits on what comes in over HTTP, against a manager whose limits are small enough to reach cheaply:
 * bodies beyond MANAGER_HTTP_MAX_BODY, inline files whose start would not fit in a proplet's MQTT packet
 * (MANAGER_PROPLET_MAX_PACKET_SIZE), and inputs no schema should have to see.
 */
const MAX_BODY = 256 * 1024;
const MAX_PACKET = 64 * 1024;

let harness: TestManager;
let sim: SimulatedProplet;
let add: Buffer;
/** Every start command on the channel, with the size of the packet that carried it. */
const startPackets: Array<{ id: string; bytes: number }> = [];
let listener: MqttClient;

const api = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
  request(harness.baseUrl, method, path, body, headers);

/** A module of `bytes` bytes: add.wasm, padded with a custom section the proplet never reads. */
function moduleOf(bytes: number): Buffer {
  const padding = bytes - add.length;
  assert.ok(padding > 8, 'room for a custom section');
  // Custom section: id 0, size (5-byte LEB128), name length 1, name "x", then the payload.
  const payload = padding - 1 - 5 - 2;
  const size = payload + 2;
  const leb = [0, 7, 14, 21, 28].map((shift, i) => ((size >> shift) & 0x7f) | (i < 4 ? 0x80 : 0));
  return Buffer.concat([add, Buffer.from([0, ...leb, 1, 0x78]), Buffer.alloc(payload)]);
}

async function taskCount(): Promise<number> {
  return (await api('GET', '/tasks?limit=1')).body.total as number;
}

async function upload(taskId: string, bytes: Buffer): Promise<{ status: number; body: any }> {
  const form = new FormData();
  form.append('file', new Blob([bytes]), 'module.wasm');
  const response = await fetch(`${harness.baseUrl}/tasks/${taskId}/upload`, { method: 'PUT', body: form });
  return { status: response.status, body: await response.json() };
}

/** A raw JSON body, sent as it is (invalid JSON, prototype keys that JSON.stringify would keep anyway). */
async function raw(
  method: string,
  path: string,
  body: string | Buffer,
  type = 'application/json',
): Promise<{ status: number; body: any }> {
  const response = await fetch(`${harness.baseUrl}${path}`, {
    method,
    headers: { 'content-type': type },
    body,
  });
  return { status: response.status, body: await response.json() };
}

before(async () => {
  add = await readFile(new URL('../../examples/add.wasm', import.meta.url));
  harness = await startTestManager({
    MANAGER_HTTP_MAX_BODY: '256KiB',
    MANAGER_PROPLET_MAX_PACKET_SIZE: '64KiB',
  });
  sim = await new SimulatedProplet(harness.config.mqtt, (start) => ({
    results: start.name === 'parent' ? 'r'.repeat(20_000) : 'ok',
  })).start();
  const { tenantId, channelId } = harness.config.mqtt;
  listener = await mqtt.connectAsync(TEST_MQTT_URL, {
    protocolVersion: TEST_MQTT_PROTOCOL_VERSION,
    reconnectPeriod: 0,
  });
  listener.on('message', (_topic, payload, packet: IPublishPacket) => {
    const remaining = packet.length ?? 0;
    const header = 1 + (remaining < 128 ? 1 : remaining < 16_384 ? 2 : 3);
    startPackets.push({
      id: (JSON.parse(payload.toString()) as { id: string }).id,
      bytes: header + remaining,
    });
  });
  await listener.subscribeAsync(`${channelBase(tenantId, channelId)}/${MANAGER_TOPICS.start}`, { qos: 1 });
  await untilPropletAlive(harness.baseUrl, sim.id);
});

after(async () => {
  await listener.endAsync();
  await sim.stop();
  await harness.close();
});

describe('MANAGER_HTTP_MAX_BODY', () => {
  const tooLarge = /request body too large: at most 256 KiB \(MANAGER_HTTP_MAX_BODY\)/;

  it('refuses a JSON body beyond it with 413 naming the limit, declared or streamed', async () => {
    const before = await taskCount();
    const body = JSON.stringify({ name: 'big', metadata: { blob: 'x'.repeat(MAX_BODY) } });
    const declared = await raw('POST', '/tasks', body);
    assert.equal(declared.status, 413);
    assert.match(declared.body.error, tooLarge);

    // Without a Content-Length the limit holds as the bytes arrive.
    const chunks = [Buffer.from(body.slice(0, 1000)), Buffer.from(body.slice(1000))];
    const streamed = await fetch(`${harness.baseUrl}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      duplex: 'half',
      body: new ReadableStream({
        pull(controller) {
          const next = chunks.shift();
          if (next) controller.enqueue(next);
          else controller.close();
        },
      }),
    });
    assert.equal(streamed.status, 413);
    assert.match(((await streamed.json()) as { error: string }).error, tooLarge);
    assert.equal(await taskCount(), before);
  });

  it('refuses an upload beyond it with the same 413, and keeps serving', async () => {
    const id = (await api('POST', '/tasks', { name: 'add', file: add.toString('base64') })).body.id as string;
    const uploaded = await upload(id, moduleOf(MAX_BODY + 1024));
    assert.equal(uploaded.status, 413);
    assert.match(uploaded.body.error, tooLarge);
    assert.equal((await harness.manager.resources.tasks.findById(id))?.fileSize, add.length);
    assert.equal((await api('GET', '/health')).status, 200);
  });
});

describe('MANAGER_PROPLET_MAX_PACKET_SIZE', () => {
  const hint = /64 KiB a proplet takes in one MQTT packet \(MANAGER_PROPLET_MAX_PACKET_SIZE\).*image_url/;
  /** 60 KiB of Wasm: 80 KiB of base64, within the body limit but not within a packet. */
  const big = () => moduleOf(60 * 1024);

  it('refuses an inline file whose start would not fit, on every way a file comes in, and creates nothing', async () => {
    const before = await taskCount();
    const file = big().toString('base64');
    const created = await api('POST', '/tasks', { name: 'big', file });
    assert.equal(created.status, 413);
    assert.match(created.body.error, hint);

    const small = await api('POST', '/tasks', { name: 'small', file: add.toString('base64') });
    assert.equal(small.status, 201);
    const id = small.body.id as string;
    const updated = await api('PUT', `/tasks/${id}`, { file });
    assert.equal(updated.status, 413);
    assert.match(updated.body.error, hint);
    const uploaded = await upload(id, big());
    assert.equal(uploaded.status, 413);
    assert.match(uploaded.body.error, hint);
    // Unchanged by either.
    assert.equal((await harness.manager.resources.tasks.findById(id))?.fileSize, add.length);

    for (const path of ['/workflows', '/jobs']) {
      const group = await api('POST', path, {
        tasks: [
          { name: 'fine', file: add.toString('base64') },
          { name: 'big', file },
        ],
      });
      assert.equal(group.status, 413, path);
      assert.match(group.body.error, /tasks\.1: task too large/);
    }
    assert.equal(await taskCount(), before + 1);
  });

  it('takes the largest file that fits, and the proplet receives its start within the limit', async () => {
    const limit = harness.manager.resources.startMessageLimit;
    const fits = (bytes: number) =>
      limit.problem(
        {
          name: 'edge',
          imageUrl: null,
          inputs: ['1', '2'],
          cliArgs: null,
          env: null,
          daemon: false,
          latent: false,
          encrypted: false,
          kbsResourcePath: null,
          monitoringProfile: null,
          halStoragePath: null,
          broadcast: false,
          requestedPropletId: null,
        },
        bytes,
      ) === undefined;
    let largest = add.length + 16;
    for (let step = 32 * 1024; step >= 1; step = Math.floor(step / 2))
      if (fits(largest + step)) largest += step;

    const refused = await api('POST', '/tasks', {
      name: 'edge',
      inputs: [1, 2],
      file: moduleOf(largest + 3).toString('base64'),
    });
    assert.equal(refused.status, 413);
    const created = await api('POST', '/tasks', {
      name: 'edge',
      inputs: [1, 2],
      file: moduleOf(largest).toString('base64'),
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    assert.equal((await api('POST', `/tasks/${id}/start`)).status, 200);
    await waitFor(async () => (await api('GET', `/tasks/${id}`)).body.state === TaskState.Completed, 'done');
    const packet = await waitFor(() => startPackets.find((start) => start.id === id), 'its start packet');
    assert.ok(packet.bytes <= MAX_PACKET, `${packet.bytes} bytes`);
    // Counted honestly, not with a wide margin: within the room kept for the proplet id and trace context.
    assert.ok(packet.bytes > MAX_PACKET - 1_500, `${packet.bytes} bytes`);
  });

  it('fails a start that its parents’ results made too large, instead of sending it', async () => {
    // 40 KiB of Wasm fits alone; with the parent's 20 KB result sent along, it does not.
    const parentId = randomUUID();
    const flow = await api('POST', '/workflows', {
      tasks: [
        { id: parentId, name: 'parent', file: add.toString('base64') },
        { name: 'child', file: moduleOf(40 * 1024).toString('base64'), depends_on: [parentId] },
      ],
    });
    assert.equal(flow.status, 201, JSON.stringify(flow.body));
    const childId = (flow.body.tasks as Array<{ id: string }>)[1]!.id;
    assert.equal((await api('POST', `/tasks/${parentId}/start`)).status, 200);
    const failed = await waitFor(async () => {
      const task = (await api('GET', `/tasks/${childId}`)).body;
      return task.state === TaskState.Failed ? task : undefined;
    }, 'the child failed');
    assert.match(failed.error, /too large/);
    assert.equal((await api('GET', `/tasks/${parentId}`)).body.state, TaskState.Completed);
    assert.ok(!sim.starts.some((start) => start.id === childId), 'no start was sent');
  });
});

describe('inputs no schema should have to see', () => {
  /** `{"a":{"a":…}}` nested `depth` levels. */
  const deep = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

  it('refuses deep nesting, prototype keys and NUL characters in any JSON body with 400 naming the field', async () => {
    const before = await taskCount();
    const cases: Array<[string, string, string, RegExp]> = [
      ['POST', '/tasks', `{"name":"x","metadata":${deep(40)}}`, /metadata\.a.*nested too deep/],
      // Deep enough to overflow any recursive walk, and Postgres's jsonb parser.
      ['POST', '/tasks', `{"name":"x","metadata":${deep(30_000)}}`, /nested too deep/],
      ['POST', '/tasks', '{"name":"x","metadata":{"__proto__":{"admin":true}}}', /metadata\.__proto__/],
      ['POST', '/tasks', '{"name":"x","env":{"constructor":{"prototype":{}}}}', /env\.constructor/],
      ['POST', '/tasks', '{"name":"x","inputs":["a\\u0000"]}', /inputs\.0: must not contain NUL/],
      ['POST', '/workflows', `{"tasks":[{"name":"x","metadata":${deep(40)}}]}`, /nested too deep/],
      ['POST', '/jobs', '{"name":"j","tasks":[{"name":"x","__proto__":{}}]}', /tasks\.0\.__proto__/],
    ];
    for (const [method, path, body, message] of cases) {
      const answer = await raw(method, path, body);
      assert.equal(
        answer.status,
        400,
        `${path} ${body.slice(0, 80)}: ${JSON.stringify(answer.body).slice(0, 200)}`,
      );
      assert.match(answer.body.error, message);
    }
    const id = (await api('POST', '/tasks', { name: 'latent', file: add.toString('base64') })).body.id;
    const invoke = await raw('POST', `/tasks/${id}/invoke`, `{"inputs":[],"env":${deep(40)}}`);
    assert.equal(invoke.status, 400);
    assert.equal(await taskCount(), before + 1);
  });

  it('refuses bodies that are not JSON objects, and bad content types', async () => {
    for (const body of ['[]', '"text"', '42', 'null', '{"name":', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])]) {
      const answer = await raw('POST', '/tasks', body);
      assert.equal(answer.status, 400, String(body));
    }
    const plain = await raw('POST', '/tasks', '{"name":"x"}', 'text/plain');
    assert.equal(plain.status, 400);
    assert.match(plain.body.error, /application\/json/);
    const latin = await raw('POST', '/tasks', '{"name":"x"}', 'application/json; charset=latin1');
    assert.ok(latin.status >= 400 && latin.status < 500, String(latin.status));
  });

  it('bounds list fields and takes only sane proplet ids', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ name: 'x', inputs: Array.from({ length: 1_001 }, () => 1) }, /inputs: must have at most 1000/],
      [{ name: 'x', cli_args: Array.from({ length: 1_001 }, () => 'a') }, /cli_args/],
      [
        { name: 'x', env: Object.fromEntries(Array.from({ length: 1_001 }, (_, i) => [`K${i}`, 'v'])) },
        /env: must have at most 1000/,
      ],
      [{ name: 'x', proplet_id: 'p\u0007' }, /proplet_id: must not contain/],
      [{ name: 'x', proplet_id: 'p'.repeat(256) }, /proplet_id: must be at most 255/],
      [{ name: 'n'.repeat(256) }, /name/],
    ];
    for (const [body, message] of cases) {
      const answer = await api('POST', '/tasks', body);
      assert.equal(answer.status, 400, JSON.stringify(body).slice(0, 100));
      assert.match(answer.body.error, message);
    }
  });

  it('refuses query values and path ids that name nothing sane, never answering 5xx', async () => {
    for (const path of [
      '/jobs?status=constructor',
      '/jobs?status=__proto__',
      '/jobs?status=toString',
      '/proplets?status=constructor',
      '/jobs?status=pending&status=failed',
      '/tasks?offset=99999999999999999999',
      '/tasks?limit=1&limit=2',
      `/tasks?metadata=${encodeURIComponent(deep(40))}`,
      `/tasks?metadata=${encodeURIComponent('{"a":"\u0000"}')}`,
      `/proplets/${encodeURIComponent('p\u0007q')}/alive-history`,
      `/proplets/${'p'.repeat(300)}/metrics`,
      `/tasks/${encodeURIComponent('t\u0000')}/metrics`,
      '/events?task_id=constructor',
    ]) {
      const answer = await api('GET', path);
      assert.equal(answer.status, 400, `${path}: ${JSON.stringify(answer.body).slice(0, 200)}`);
      assert.equal(typeof answer.body.error, 'string');
    }
  });
});
