import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import {
  request,
  startTestManager,
  type TestManager,
  untilPropletAlive,
} from '../support/manager-harness.ts';
import { SimulatedProplet } from '../support/simulated-proplet.ts';

/** The HTTP body limit of the api role (src/http/api-role.ts). */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

let harness: TestManager;
let add: Buffer;

const api = (method: string, path: string, body?: unknown) => request(harness.baseUrl, method, path, body);

/** A multipart upload as `propeller-cli` and browsers send it. */
async function upload(
  taskId: string,
  parts: Array<{ name: string; bytes: Buffer | string; filename?: string }>,
): Promise<{ status: number; body: any }> {
  const form = new FormData();
  for (const part of parts) {
    if (part.filename === undefined) form.append(part.name, String(part.bytes));
    else form.append(part.name, new Blob([part.bytes]), part.filename);
  }
  const response = await fetch(`${harness.baseUrl}/tasks/${taskId}/upload`, { method: 'PUT', body: form });
  return { status: response.status, body: await response.json() };
}

async function createTask(body: Record<string, unknown> = {}): Promise<string> {
  const created = await api('POST', '/tasks', { name: 'add', inputs: [2, 3], ...body });
  assert.equal(created.status, 201);
  return created.body.id as string;
}

before(async () => {
  harness = await startTestManager();
  add = await readFile(new URL('../../examples/add.wasm', import.meta.url));
});

after(async () => {
  await harness.close();
});

describe('PUT /tasks/{id}/upload', () => {
  it('stores the file, which a start then carries to the proplet byte for byte', async () => {
    const proplet = new SimulatedProplet(harness.config.mqtt, () => ({ results: '5' }));
    await proplet.start();
    try {
      const id = await createTask();
      const uploaded = await upload(id, [{ name: 'file', bytes: add, filename: 'add.wasm' }]);
      assert.equal(uploaded.status, 200);
      assert.equal(uploaded.body.id, id);
      assert.equal(typeof uploaded.body.file, 'string', 'the file is shown redacted');
      assert.notEqual(uploaded.body.file, add.toString('base64'));

      await untilPropletAlive(harness.baseUrl, proplet.id);
      assert.equal((await api('POST', `/tasks/${id}/start`)).status, 200);
      const start = await proplet.waitForStart(id);
      assert.ok(start.file);
      assert.deepEqual(Buffer.from(start.file, 'base64'), add);
    } finally {
      await proplet.stop();
    }
  });

  it('ignores other parts and takes the file part among them', async () => {
    const id = await createTask();
    const uploaded = await upload(id, [
      { name: 'comment', bytes: 'hello' },
      { name: 'other', bytes: Buffer.from('not wasm'), filename: 'notes.txt' },
      { name: 'file', bytes: add, filename: 'add.wasm' },
    ]);
    assert.equal(uploaded.status, 200);
    const stored = (await harness.manager.resources.tasks.findById(id))?.file;
    assert.ok(stored);
    assert.deepEqual(Buffer.from(stored), add);
  });

  it('keeps the schedule and every other field', async () => {
    const id = await createTask({
      schedule: '*/5 * * * *',
      is_recurring: true,
      timezone: 'Europe/Paris',
      priority: 70,
      metadata: { team: 'a' },
      env: { A: '1' },
    });
    const before = (await api('GET', `/tasks/${id}`)).body;
    assert.equal(before.schedule, '*/5 * * * *');
    const uploaded = await upload(id, [{ name: 'file', bytes: add, filename: 'add.wasm' }]);
    assert.equal(uploaded.status, 200);
    const after = (await api('GET', `/tasks/${id}`)).body;
    for (const field of [
      'schedule',
      'is_recurring',
      'timezone',
      'priority',
      'metadata',
      'env',
      'inputs',
      'name',
    ])
      assert.deepEqual(after[field], before[field], field);
    assert.ok(Date.parse(after.updated_at) >= Date.parse(before.updated_at));
    assert.notEqual(after.file, before.file);
  });

  it('refuses a file whose name does not end in .wasm, changing nothing', async () => {
    const id = await createTask();
    const uploaded = await upload(id, [{ name: 'file', bytes: add, filename: 'add.wat' }]);
    assert.equal(uploaded.status, 400);
    assert.match(uploaded.body.error, /\.wasm/);
    assert.equal((await harness.manager.resources.tasks.findById(id))?.file, null);
  });

  it('refuses content that is not a WebAssembly module', async () => {
    const id = await createTask();
    for (const bytes of [Buffer.from('(module)'), Buffer.alloc(0), Buffer.from([0x00, 0x61, 0x73])]) {
      const uploaded = await upload(id, [{ name: 'file', bytes, filename: 'add.wasm' }]);
      assert.equal(uploaded.status, 400);
      assert.match(uploaded.body.error, /not a WebAssembly module/);
    }
    assert.equal((await harness.manager.resources.tasks.findById(id))?.file, null);
  });

  it('refuses a form without the file part, or with it as a plain field', async () => {
    const id = await createTask();
    const missing = await upload(id, [{ name: 'wasm', bytes: add, filename: 'add.wasm' }]);
    assert.equal(missing.status, 400);
    assert.match(missing.body.error, /missing the 'file' part/);
    const plain = await upload(id, [{ name: 'file', bytes: 'AGFzbQ==' }]);
    assert.equal(plain.status, 400);
    assert.match(plain.body.error, /'file' part must be a file/);
  });

  it('refuses a body that is not multipart, or malformed multipart', async () => {
    const id = await createTask();
    const json = await request(harness.baseUrl, 'PUT', `/tasks/${id}/upload`, {
      file: add.toString('base64'),
    });
    assert.equal(json.status, 400);
    assert.match(json.body.error, /multipart\/form-data/);
    const none = await fetch(`${harness.baseUrl}/tasks/${id}/upload`, { method: 'PUT' });
    assert.equal(none.status, 400);
    const truncated = await fetch(`${harness.baseUrl}/tasks/${id}/upload`, {
      method: 'PUT',
      headers: { 'content-type': 'multipart/form-data; boundary=xyz' },
      body: '--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.wasm"\r\n\r\n\0asm',
    });
    assert.equal(truncated.status, 400);
    assert.match(((await truncated.json()) as { error: string }).error, /malformed multipart/);
    assert.equal((await harness.manager.resources.tasks.findById(id))?.file, null);
  });

  it('answers 413 to an upload beyond the body limit, and stays up', async () => {
    const id = await createTask();
    const huge = Buffer.alloc(MAX_BODY_BYTES + 1024);
    add.copy(huge);
    const uploaded = await upload(id, [{ name: 'file', bytes: huge, filename: 'big.wasm' }]);
    assert.equal(uploaded.status, 413);
    assert.match(uploaded.body.error, /too large/);
    assert.equal((await harness.manager.resources.tasks.findById(id))?.file, null);

    // Streamed without a length: the limit holds as the bytes arrive.
    const chunked = await fetch(`${harness.baseUrl}/tasks/${id}/upload`, {
      method: 'PUT',
      headers: { 'content-type': 'multipart/form-data; boundary=xyz' },
      duplex: 'half',
      body: new ReadableStream({
        start(controller) {
          const encoder = new TextEncoder();
          controller.enqueue(
            encoder.encode('--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.wasm"\r\n\r\n'),
          );
          controller.enqueue(new Uint8Array(huge));
          controller.enqueue(encoder.encode('\r\n--xyz--\r\n'));
          controller.close();
        },
      }),
    });
    assert.equal(chunked.status, 413);
    assert.equal((await api('GET', `/tasks/${id}`)).status, 200);
  });

  it('answers 404 for an unknown task and 400 for an id that is not a UUID', async () => {
    const unknown = await upload(randomUUID(), [{ name: 'file', bytes: add, filename: 'add.wasm' }]);
    assert.equal(unknown.status, 404);
    const bad = await upload('not-a-uuid', [{ name: 'file', bytes: add, filename: 'add.wasm' }]);
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /task id/);
    assert.equal((await fetch(`${harness.baseUrl}/tasks/${randomUUID()}/upload`)).status, 405);
  });
});
