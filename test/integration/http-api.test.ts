import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { redactFile } from '../../src/domain/file-redaction.ts';
import { TaskState } from '../../src/domain/task-state.ts';
import { request, startTestManager, type TestManager } from '../support/manager-harness.ts';
import { TEST_REDIS_URL } from '../support/test-database.ts';

/** The smallest valid module: magic and version. */
const WASM = Buffer.from('0061736d01000000', 'hex').toString('base64');

let harness: TestManager;
const api = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
  request(harness.baseUrl, method, path, body, headers);

before(async () => {
  harness = await startTestManager();
});

after(async () => {
  await harness.close();
});

describe('tasks API', () => {
  it('creates a task: 201, Location, numeric state, inputs as text, file redacted', async () => {
    const created = await api('POST', '/tasks', {
      name: 'add',
      file: WASM,
      inputs: [2, '3'],
      env: { A: 'b' },
    });
    assert.equal(created.status, 201);
    assert.equal(created.headers.get('location'), `/tasks/${created.body.id}`);
    assert.equal(created.body.state, TaskState.Pending);
    assert.deepEqual(created.body.inputs, ['2', '3']);
    assert.equal(created.body.file, WASM);
    assert.equal(created.body.cli_args, null);
    assert.equal(created.body.start_time, '0001-01-01T00:00:00Z');
    assert.equal(created.body.priority, 50);

    const fetched = await api('GET', `/tasks/${created.body.id}`);
    assert.equal(fetched.status, 200);
    assert.deepEqual(fetched.body, created.body);
  });

  it('ignores server-owned fields and Go zero timestamps that SDK clients send', async () => {
    const created = await api('POST', '/tasks', {
      id: 'client-chosen',
      name: 'sdk',
      state: 3,
      results: 'forged',
      start_time: '0001-01-01T00:00:00Z',
      created_at: '0001-01-01T00:00:00Z',
    });
    assert.equal(created.status, 201);
    assert.notEqual(created.body.id, 'client-chosen');
    assert.equal(created.body.state, TaskState.Pending);
    assert.equal(created.body.results, undefined);
  });

  it('refuses bad input with 400 naming the field, and stores nothing', async () => {
    const before = (await api('GET', '/tasks?limit=100')).body.total;
    const cases: Array<[unknown, string | undefined, RegExp]> = [
      [{ inputs: [1] }, undefined, /name/],
      [{ name: 'x', file: 'not base64!' }, undefined, /file/],
      [{ name: 'x', priority: 101 }, undefined, /priority/],
      [{ name: 'x', broadcast: true, proplet_id: 'p' }, undefined, /proplet_id/],
      [{ name: 'x', run_if: 'sometimes' }, undefined, /run_if/],
      ['{"name": ', undefined, /malformed JSON/],
      ['[1,2]', undefined, /JSON object/],
      [{ name: 'x' }, 'text/plain', /unsupported content type/],
    ];
    for (const [body, contentType, message] of cases) {
      const response = await fetch(`${harness.baseUrl}/tasks`, {
        method: 'POST',
        headers: { 'content-type': contentType ?? 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      const json = (await response.json()) as { error: string };
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.match(json.error, message);
    }
    assert.equal((await api('GET', '/tasks?limit=100')).body.total, before);
  });

  it('refuses a body over 10 MiB with 413', async () => {
    const file = Buffer.alloc(8 * 1024 * 1024).toString('base64');
    const response = await api('POST', '/tasks', { name: 'huge', file });
    assert.equal(response.status, 413);
    assert.match(response.body.error, /too large/);
  });

  it('refuses NUL characters, which Postgres cannot store, with 400 naming the field', async () => {
    for (const body of [
      { name: 'a\u0000b' },
      { name: 'ok', metadata: { 'k\u0000': 1 } },
      { name: 'ok', env: { A: '\u0000' } },
    ]) {
      const response = await api('POST', '/tasks', body);
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.match(response.body.error, /NUL/);
    }
  });

  it('answers 400 for bad ids and limits, 404 for unknown ids', async () => {
    assert.equal((await api('GET', '/tasks/not-a-uuid')).status, 400);
    assert.equal((await api('POST', '/tasks/not-a-uuid/start')).status, 400);
    const unknown = randomUUID();
    for (const [method, path] of [
      ['GET', `/tasks/${unknown}`],
      ['DELETE', `/tasks/${unknown}`],
      ['POST', `/tasks/${unknown}/start`],
      ['POST', `/tasks/${unknown}/stop`],
      ['GET', `/tasks/${unknown}/results`],
    ] as const) {
      const response = await api(method, path);
      assert.equal(response.status, 404, `${method} ${path}`);
      assert.match(response.body.error, /not found/);
    }
    assert.equal((await api('PUT', `/tasks/${unknown}`, { name: 'y' })).status, 404);
    for (const query of ['limit=0', 'limit=101', 'limit=abc', 'offset=-1', 'metadata=nope']) {
      assert.equal((await api('GET', `/tasks?${query}`)).status, 400, query);
    }
  });

  it('lists newest first with totals, pagination and a metadata filter', async () => {
    const tag = randomUUID();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await api('POST', '/tasks', { name: `list-${i}`, metadata: { tag, index: i } })).body.id);
    }
    const filter = encodeURIComponent(JSON.stringify({ tag }));
    const page = await api('GET', `/tasks?metadata=${filter}&limit=2`);
    assert.equal(page.status, 200);
    assert.equal(page.body.total, 3);
    assert.equal(page.body.limit, 2);
    assert.deepEqual(
      page.body.tasks.map((task: { id: string }) => task.id),
      [ids[2], ids[1]],
    );
    const second = await api('GET', `/tasks/?metadata=${filter}&offset=2&limit=2`);
    assert.deepEqual(
      second.body.tasks.map((task: { id: string }) => task.id),
      [ids[0]],
    );
    const one = await api('GET', `/tasks?metadata=${encodeURIComponent(JSON.stringify({ tag, index: 1 }))}`);
    assert.deepEqual(
      one.body.tasks.map((task: { id: string }) => task.id),
      [ids[1]],
    );
  });

  it('serves the metadata filter from its GIN index', async () => {
    const client = await harness.manager.resources.postgres.pool.connect();
    try {
      await client.query('BEGIN');
      // With a handful of rows the planner would rightly scan; the question is whether the index can serve it.
      await client.query('SET LOCAL enable_seqscan = off');
      const plan = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT id FROM tasks WHERE metadata @> $1::jsonb`,
        [JSON.stringify({ team: 'a' })],
      );
      assert.match(plan.rows.map((row) => row['QUERY PLAN']).join('\n'), /idx_tasks_metadata/);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  it('pages all tasks from the created_at index, with the total the triggers keep exact', async () => {
    const pool = harness.manager.resources.postgres.pool;
    const counted = async () => Number((await pool.query('SELECT count(*) AS n FROM tasks')).rows[0].n);
    const created = [];
    for (let i = 0; i < 3; i++) created.push((await api('POST', '/tasks', { name: `total-${i}` })).body.id);
    // Several rows in one statement, and a delete of two in another.
    await pool.query(
      `INSERT INTO tasks (id, name) SELECT gen_random_uuid(), 'total-bulk' FROM generate_series(1, 5)`,
    );
    assert.equal((await api('DELETE', `/tasks/${created[0]}`)).status, 204);
    await pool.query(`DELETE FROM tasks WHERE name = 'total-bulk' AND id IN (
      SELECT id FROM tasks WHERE name = 'total-bulk' LIMIT 2)`);
    const page = await api('GET', '/tasks?limit=2');
    assert.equal(page.body.total, await counted());
    assert.equal(page.body.tasks.length, 2);

    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SET LOCAL enable_seqscan = off');
      const plan = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT id FROM tasks ORDER BY created_at DESC NULLS LAST, id LIMIT 10`,
      );
      const text = plan.rows.map((row) => row['QUERY PLAN']).join('\n');
      assert.match(text, /Index (Only )?Scan using idx_tasks_created_at/);
      assert.doesNotMatch(text, /Sort/);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  it('shows the same redacted file in lists as on the task, whatever the file size', async () => {
    const tag = randomUUID();
    for (const size of [1, 8, 15, 16, 17, 18, 19, 20, 31, 100, 4099]) {
      const bytes = randomBytes(size);
      const created = await api('POST', '/tasks', {
        name: `f${size}`,
        file: bytes.toString('base64'),
        metadata: { tag, size },
      });
      assert.equal(created.body.file, redactFile(bytes));
    }
    const listed = await api('GET', `/tasks?metadata=${encodeURIComponent(JSON.stringify({ tag }))}`);
    assert.equal(listed.body.total, 11);
    for (const task of listed.body.tasks as Array<{ id: string; file: string }>) {
      assert.equal(task.file, (await api('GET', `/tasks/${task.id}`)).body.file);
    }
  });

  it('updates only the fields sent, and keeps the schedule', async () => {
    const created = await api('POST', '/tasks', {
      name: 'before',
      inputs: ['1'],
      schedule: '*/5 * * * *',
      priority: 70,
    });
    const updated = await api('PUT', `/tasks/${created.body.id}`, {
      name: 'after',
      schedule: '',
      inputs: null,
      priority: 0,
    });
    assert.equal(updated.status, 200);
    assert.equal(updated.body.name, 'after');
    assert.deepEqual(updated.body.inputs, ['1']);
    assert.equal(updated.body.schedule, '*/5 * * * *');
    assert.equal(updated.body.priority, 70);
    assert.notEqual(updated.body.updated_at, created.body.updated_at);
  });

  it('deletes: 204, then 404', async () => {
    const created = await api('POST', '/tasks', { name: 'doomed' });
    const deleted = await fetch(`${harness.baseUrl}/tasks/${created.body.id}`, { method: 'DELETE' });
    assert.equal(deleted.status, 204);
    assert.equal(await deleted.text(), '');
    assert.equal((await api('GET', `/tasks/${created.body.id}`)).status, 404);
  });

  it('refuses to start a task without Wasm, and an encrypted task without image_url', async () => {
    const bare = await api('POST', '/tasks', { name: 'bare' });
    const started = await api('POST', `/tasks/${bare.body.id}/start`);
    assert.equal(started.status, 400);
    assert.match(started.body.error, /file nor image_url/);
    assert.equal((await api('GET', `/tasks/${bare.body.id}`)).body.state, TaskState.Pending);

    const encrypted = await api('POST', '/tasks', { name: 'secret', encrypted: true, file: WASM });
    assert.equal((await api('POST', `/tasks/${encrypted.body.id}/start`)).status, 400);
  });

  it('answers conflicts with 409: a second start, a stop of a pending task', async () => {
    const task = (await api('POST', '/tasks', { name: 'once', file: WASM })).body;
    assert.equal((await api('POST', `/tasks/${task.id}/stop`)).status, 409);
    assert.deepEqual((await api('POST', `/tasks/${task.id}/start`)).body, { started: true });
    // No proplet is alive in this file's channel: the start waits, the task stays Scheduled.
    assert.equal((await api('GET', `/tasks/${task.id}`)).body.state, TaskState.Scheduled);
    const again = await api('POST', `/tasks/${task.id}/start`);
    assert.equal(again.status, 409);
    assert.match(again.body.error, /already scheduled/);
    // Editing is allowed in any state, as upstream allows it; it applies to the next run.
    assert.equal((await api('PUT', `/tasks/${task.id}`, { name: 'changed' })).body.name, 'changed');
  });

  it('withdraws a scheduled task on stop: Failed at once with the reason', async () => {
    const task = (await api('POST', '/tasks', { name: 'withdrawn', file: WASM })).body;
    await api('POST', `/tasks/${task.id}/start`);
    assert.deepEqual((await api('POST', `/tasks/${task.id}/stop`)).body, { stopped: true });
    const stopped = (await api('GET', `/tasks/${task.id}`)).body;
    assert.equal(stopped.state, TaskState.Failed);
    assert.equal(stopped.error, 'stopped by user');
    assert.notEqual(stopped.finish_time, '0001-01-01T00:00:00Z');
  });

  it('answers results null, never an empty body, when there are none', async () => {
    const task = (await api('POST', '/tasks', { name: 'nothing-yet' })).body;
    const results = await api('GET', `/tasks/${task.id}/results`);
    assert.equal(results.status, 200);
    assert.deepEqual(results.body, { results: null });
  });
});

describe('proplets API', () => {
  it('lists an empty page, and validates status, ids and limits', async () => {
    const list = await api('GET', '/proplets');
    assert.deepEqual(list.body, { offset: 0, limit: 100, total: 0, proplets: [] });
    assert.equal((await api('GET', '/proplets?limit=0')).status, 200);
    assert.equal((await api('GET', '/proplets?status=sleeping')).status, 400);
    assert.equal((await api('GET', '/proplets?offset=abc')).status, 400);
    assert.equal((await api('GET', '/proplets/not-a-uuid')).status, 400);
    assert.equal((await api('GET', `/proplets/${randomUUID()}`)).status, 404);
    assert.equal((await api('DELETE', `/proplets/${randomUUID()}`)).status, 404);
    assert.equal((await api('GET', `/proplets/${randomUUID()}/alive-history`)).status, 404);
  });
});

describe('HTTP conventions', () => {
  it('answers JSON errors for unknown paths and wrong methods', async () => {
    const missing = await api('GET', '/nowhere');
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body, { error: 'not found' });
    const wrong = await api('PATCH', '/tasks');
    assert.equal(wrong.status, 405);
  });

  it('reports health with the instance id and each dependency', async () => {
    const health = await api('GET', '/health');
    assert.equal(health.status, 200);
    assert.equal(health.body.status, 'pass');
    assert.equal(health.body.description, 'manager service');
    assert.equal(health.body.instance_id, harness.config.mqtt.entityId);
    // Without a Redis the queues are in Postgres, whose check covers them; the scheduler in this process
    // publishes to the broker.
    const expected =
      TEST_REDIS_URL === undefined
        ? { postgres: 'pass', mqtt: 'pass' }
        : { postgres: 'pass', redis: 'pass', mqtt: 'pass' };
    assert.deepEqual(health.body.checks, expected);
  });
});
