import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { TaskState } from '../../src/domain/task-state.ts';
import { createApiApp } from '../../src/http/api-role.ts';
import { openApiDocument } from '../../src/http/openapi/document.ts';
import { OPERATIONS, type Method } from '../../src/http/openapi/operations.ts';
import { buildInfo } from '../../src/observability/build-info.ts';
import { servedRoutes } from '../support/express-routes.ts';
import { isValid, nonNull, propertiesOf, resolve, type Schema } from '../support/json-schema-check.ts';
import { startTestManager, type TestManager } from '../support/manager-harness.ts';
import { SimulatedProplet } from '../support/simulated-proplet.ts';
import { waitFor } from '../support/wait.ts';

/**
 * The document against the server it describes: the routes Express serves are the operations documented,
 * bodies and parameters the document calls invalid are refused, and real responses (of every operation)
 * have the status codes and the bodies the document gives them.
 */
const doc: Schema = openApiDocument(buildInfo().version);
const WASM_BYTES = readFileSync(new URL('../../examples/add.wasm', import.meta.url));
const WASM = WASM_BYTES.toString('base64');
/** HTML pages and their assets: served by the api, not part of its API. */
/** Pages for people, not operations: the dashboard, the API reference, Bull Board. */
const PAGES = ['/', '/docs', '/admin/queues'];

let harness: TestManager;
let sim: SimulatedProplet;
let simStopped = false;

before(async () => {
  harness = await startTestManager();
  sim = await new SimulatedProplet(harness.config.mqtt).start();
});

after(async () => {
  if (!simStopped) await sim.stop();
  await harness.close();
});

interface Answer {
  status: number;
  body: any;
  headers: Headers;
}

type Body = { json: unknown } | { form: FormData } | { raw: string; type: string };

async function send(method: string, path: string, body?: Body): Promise<Answer> {
  const init: RequestInit = { method: method.toUpperCase() };
  if (body && 'json' in body) {
    init.headers = { 'content-type': 'application/json' };
    init.body = JSON.stringify(body.json);
  } else if (body && 'form' in body) init.body = body.form;
  else if (body) {
    init.headers = { 'content-type': body.type };
    init.body = body.raw;
  }
  const response = await fetch(`${harness.baseUrl}${path}`, init);
  const text = await response.text();
  const json = response.headers.get('content-type')?.includes('application/json');
  return { status: response.status, headers: response.headers, body: json ? JSON.parse(text) : text };
}

const fill = (path: string, params: Record<string, string>) =>
  path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params[name] ?? `missing-${name}`));

const requestSchema = (method: string, path: string): Schema =>
  doc.paths[path][method].requestBody.content['application/json'].schema;

describe('the routes served and the operations documented', () => {
  it('documents every route Express serves, and serves every operation documented', async () => {
    const api = await createApiApp(harness.manager.resources, harness.manager.resources.logger);
    const { routes, mounts } = servedRoutes(api.app);
    await api.close();
    const isPage = (path: string) => PAGES.some((page) => path === page || path.startsWith(`${page}/`));
    const served = routes
      .filter((route) => !isPage(route.path))
      .map((route) => `${route.method} ${route.path}`);
    const documented = Object.entries(doc.paths as Record<string, Schema>).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method} ${path}`),
    );
    assert.deepEqual([...new Set(served)].sort(), [...documented].sort());
    assert.equal(served.length, new Set(served).size, 'a route served twice');
    // The pages are there, and no other app is mounted out of the walk's sight (Bull Board, built on its
    // first request, is a handler at /admin/queues: test/integration/docs-and-queues.test.ts covers it).
    assert.ok(routes.some((route) => route.method === 'get' && route.path === '/docs'));
    assert.deepEqual(mounts, []);
  });

  it('serves the document at /openapi.json', async () => {
    const answer = await send('get', '/openapi.json');
    assert.equal(answer.status, 200);
    assert.match(answer.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(answer.body, doc);
  });
});

/** Values that the schema of a property may refuse, the ones aimed at its bounds first. */
function candidates(propertySchema: Schema): unknown[] {
  const s = nonNull(propertySchema, doc);
  const aimed: unknown[] = [];
  if (typeof s.maxLength === 'number') aimed.push('a'.repeat(s.maxLength + 1));
  if (typeof s.minLength === 'number' && s.minLength > 0) aimed.push('');
  if (typeof s.maximum === 'number' && s.maximum < 1e12) aimed.push(s.maximum + 1);
  if (typeof s.minimum === 'number') aimed.push(s.minimum - 1);
  if (typeof s.minItems === 'number' && s.minItems > 0) aimed.push([]);
  if (typeof s.maxItems === 'number' && s.maxItems < 2_000)
    aimed.push(Array.from({ length: s.maxItems + 1 }, () => ({})));
  return [...aimed, 'not-a-uuid', 'not-in-the-enum', 42, 1.5, true, {}, [], [true], ['not-a-uuid'], [{}]];
}

interface Case {
  path: Array<string | number>;
  value: unknown;
}

/** Bodies that the document calls invalid: a valid example with one property changed, also in nested objects. */
function* invalidCases(
  schema: Schema,
  example: Record<string, unknown>,
  at: Array<string | number> = [],
): Generator<Case> {
  for (const [name, property] of Object.entries(propertiesOf(schema, doc))) {
    const refused = candidates(property).filter((value) => !isValid(property, value, doc));
    for (const value of refused.slice(0, 4)) yield { path: [...at, name], value };
    const current = example[name];
    const item = nonNull(property, doc);
    if (Array.isArray(current) && current[0] && typeof current[0] === 'object' && item.items)
      yield* invalidCases(item.items, current[0] as Record<string, unknown>, [...at, name, 0]);
  }
}

function withValue(example: unknown, path: Array<string | number>, value: unknown): unknown {
  const copy = structuredClone(example) as any;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key];
  node[path.at(-1)!] = value;
  return copy;
}

describe('request bodies the document calls invalid', () => {
  const examples: Array<{ method: Method; path: string; example: Record<string, unknown> }> = [
    { method: 'post', path: '/tasks', example: { name: 'add', file: WASM, inputs: [2, 3] } },
    {
      method: 'post',
      path: '/tasks/batch',
      example: { tasks: [{ name: 'add', file: WASM, inputs: [2, 3] }], start: false },
    },
    { method: 'put', path: '/tasks/{taskId}', example: { inputs: [4, 5] } },
    { method: 'post', path: '/tasks/{taskId}/invoke', example: { inputs: [1] } },
    { method: 'post', path: '/workflows', example: { tasks: [{ name: 'a', file: WASM }] } },
    { method: 'post', path: '/jobs', example: { name: 'nightly', tasks: [{ name: 'a', file: WASM }] } },
  ];

  it('covers every operation that takes a JSON body', () => {
    const withJson = OPERATIONS.filter((op) => op.body?.kind === 'json').map(
      (op) => `${op.method} ${op.path}`,
    );
    assert.deepEqual(withJson.sort(), examples.map((e) => `${e.method} ${e.path}`).sort());
  });

  for (const { method, path, example } of examples)
    it(`${method.toUpperCase()} ${path}: refused with 400 naming the field`, async () => {
      const schema = requestSchema(method, path);
      assert.ok(isValid(schema, example, doc), 'the example itself is valid');
      const taskId = (await send('post', '/tasks', { json: { name: 'target', file: WASM } })).body
        .id as string;
      const target = fill(path, { taskId });
      let tried = 0;
      for (const { path: field, value } of invalidCases(schema, example)) {
        const body = withValue(example, field, value);
        assert.ok(!isValid(schema, body, doc));
        const answer = await send(method, target, { json: body });
        const name = String(field.filter((key) => typeof key === 'string').at(-1));
        assert.equal(answer.status, 400, `${JSON.stringify(body).slice(0, 200)} got ${answer.status}`);
        assert.ok(
          String(answer.body.error).includes(name),
          `${field.join('.')} = ${JSON.stringify(value).slice(0, 60)}: "${String(answer.body.error)}" does not name ${name}`,
        );
        tried++;
      }
      assert.ok(tried >= 5, `only ${tried} invalid bodies`);
      if (method === 'post' && path !== '/tasks/{taskId}/invoke') {
        const accepted = await send(method, target, { json: example });
        assert.equal(accepted.status, 201, JSON.stringify(accepted.body));
      }
    });
});

describe('parameters the document calls invalid', () => {
  let ids: Record<string, string>;

  before(async () => {
    const taskId = (await send('post', '/tasks', { json: { name: 'params', file: WASM } })).body.id as string;
    await waitFor(
      async () => (await send('get', `/proplets/${sim.id}`)).status === 200,
      'the proplet registered',
    );
    ids = { taskId, propletId: sim.id };
  });

  it('refuses query values outside the declared enum or bounds, and takes those inside', async () => {
    let checked = 0;
    for (const [path, item] of Object.entries(doc.paths as Record<string, Schema>)) {
      const parameters: Schema[] = item.get?.parameters?.filter((p: Schema) => p.in === 'query') ?? [];
      for (const parameter of parameters) {
        const url = (value: string) => `${fill(path, ids)}?${parameter.name}=${encodeURIComponent(value)}`;
        const expect = async (value: string, status: number) => {
          const answer = await send('get', url(value));
          assert.equal(answer.status, status, `${url(value)}: ${JSON.stringify(answer.body)}`);
          checked++;
        };
        if (parameter.content) {
          await expect('{"team":"a"}', 200);
          await expect('[1]', 400);
          await expect('not json', 400);
          continue;
        }
        const schema = resolve(parameter.schema, doc);
        if (Array.isArray(schema.enum)) {
          for (const value of schema.enum) await expect(String(value), 200);
          await expect('not-in-the-enum', 400);
        }
        if (schema.type === 'integer') {
          await expect(String(schema.minimum), 200);
          await expect(String(schema.minimum - 1), 400);
          if (schema.maximum < 1e12) {
            await expect(String(schema.maximum), 200);
            await expect(String(schema.maximum + 1), 400);
          }
          await expect('1.5', 400);
          await expect('x', 400);
        }
      }
    }
    assert.ok(checked > 40, `only ${checked} values checked`);
  });

  it('refuses an id that is not a UUID where a UUID is declared, and only there', async () => {
    let checked = 0;
    for (const op of OPERATIONS) {
      for (const [name, { schema }] of Object.entries(op.pathParameters ?? {})) {
        const declared = doc.paths[op.path][op.method].parameters.find((p: Schema) => p.name === name).schema;
        const path = fill(op.path, {
          ...ids,
          jobId: randomUUID(),
          workflowId: randomUUID(),
          [name]: 'not-a-uuid',
        });
        const body: Body | undefined =
          op.body?.kind === 'json' ? { json: {} } : op.body ? { form: uploadForm() } : undefined;
        const answer = await send(op.method, path, body);
        if (declared.format === 'uuid') {
          assert.equal(answer.status, 400, `${op.method} ${path}`);
          assert.match(answer.body.error, /UUID/);
        } else {
          // Any non-empty id: an unknown one is looked for, and not found.
          assert.equal(schema.safeParse('not-a-uuid').success, true);
          assert.equal(answer.status, 404, `${op.method} ${path}`);
        }
        checked++;
      }
    }
    assert.ok(checked > 15);
  });
});

function uploadForm(bytes: Uint8Array = WASM_BYTES, filename = 'add.wasm'): FormData {
  const form = new FormData();
  form.append('file', new Blob([bytes]), filename);
  return form;
}

describe('responses of every operation, as documented', () => {
  const exercised = new Set<string>();

  /** Calls an operation and checks that its status is documented and its body has the documented schema. */
  async function call(
    method: Method,
    path: string,
    params: Record<string, string> = {},
    options: { body?: Body; query?: string } = {},
  ): Promise<Answer> {
    const op = OPERATIONS.find((candidate) => candidate.method === method && candidate.path === path);
    assert.ok(op, `${method} ${path} is not documented`);
    const answer = await send(method, `${fill(path, params)}${options.query ?? ''}`, options.body);
    const spec = op.responses[String(answer.status)];
    assert.ok(
      spec,
      `${method} ${path} answered ${answer.status}, which is not documented: ${JSON.stringify(answer.body)}`,
    );
    if (spec.body) {
      assert.match(answer.headers.get('content-type') ?? '', /^application\/json/);
      const parsed = spec.body.safeParse(answer.body);
      assert.ok(
        parsed.success,
        `${method} ${path} ${answer.status}: ${parsed.success ? '' : parsed.error.message}`,
      );
      const documented =
        doc.paths[path][method].responses[String(answer.status)].content['application/json'].schema;
      assert.ok(
        isValid(documented, answer.body, doc),
        `${method} ${path} ${answer.status}: refused by the document`,
      );
    } else if (spec.text) {
      assert.ok((answer.headers.get('content-type') ?? '').startsWith(spec.text.mediaType));
      assert.ok(typeof answer.body === 'string' && answer.body.length > 0);
    } else assert.equal(answer.body, '');
    if (answer.status < 300) exercised.add(`${method} ${path}`);
    return answer;
  }

  const untilState = (taskId: string, state: number) =>
    waitFor(
      async () => (await send('get', `/tasks/${taskId}`)).body.state === state,
      `task in state ${state}`,
    );

  it('health, the document and monitoring', async () => {
    await call('get', '/health');
    await call('get', '/openapi.json');
    assert.match((await call('get', '/metrics')).body, /^propeller_http_requests_total/m);
    const summary = await call('get', '/dashboard/summary');
    assert.equal(summary.body.states.length, Object.keys(TaskState).length);
    assert.equal((await call('get', '/events', {}, { query: '?task_id=not-a-uuid' })).status, 400);
  });

  it('GET /events answers with a stream of the documented type', async () => {
    const op = OPERATIONS.find((candidate) => candidate.operationId === 'streamEvents')!;
    const aborted = new AbortController();
    const response = await fetch(`${harness.baseUrl}/events`, { signal: aborted.signal });
    try {
      assert.equal(response.status, 200);
      assert.ok(response.headers.get('content-type')?.startsWith(op.responses['200']!.text!.mediaType));
      // The stream stays open: its first frame is enough.
      const first = await response.body!.getReader().read();
      assert.ok(first.value && first.value.length > 0);
      exercised.add('get /events');
    } finally {
      aborted.abort();
    }
  });

  it('a task from creation to its results, and the errors on the way', async () => {
    const created = await call(
      'post',
      '/tasks',
      {},
      { body: { json: { name: 'add', file: WASM, inputs: [2, 3] } } },
    );
    assert.equal(created.status, 201);
    const taskId = created.body.id as string;
    assert.equal(created.headers.get('location'), `/tasks/${taskId}`);
    await call('get', '/tasks', {}, { query: '?limit=5' });
    const batch = await call(
      'post',
      '/tasks/batch',
      {},
      {
        body: {
          json: {
            tasks: [
              { name: 'add', file: WASM },
              { name: 'sub', file: WASM },
            ],
          },
        },
      },
    );
    assert.deepEqual(
      batch.body.tasks.map((task: { name: string }) => task.name),
      ['add', 'sub'],
    );
    assert.equal((await call('post', '/tasks/batch', {}, { body: { json: { tasks: [] } } })).status, 400);
    await call('get', '/tasks/{taskId}', { taskId });
    assert.equal((await call('get', '/tasks/{taskId}', { taskId: randomUUID() })).status, 404);
    await call('put', '/tasks/{taskId}', { taskId }, { body: { json: { inputs: [4, 5], priority: 80 } } });
    await call('put', '/tasks/{taskId}/upload', { taskId }, { body: { form: uploadForm() } });
    assert.equal(
      (
        await call(
          'put',
          '/tasks/{taskId}/upload',
          { taskId },
          { body: { form: uploadForm(WASM_BYTES, 'add.txt') } },
        )
      ).status,
      400,
    );
    await call('get', '/tasks/{taskId}/results', { taskId });
    await call('post', '/tasks/{taskId}/start', { taskId });
    await untilState(taskId, TaskState.Completed);
    assert.equal((await call('get', '/tasks/{taskId}/results', { taskId })).body.results, 'ran add');
    const attempts = await call('get', '/tasks/{taskId}/attempts', { taskId });
    assert.equal(attempts.body.attempts[0].outcome, 'completed');
    assert.equal((await call('post', '/tasks/{taskId}/stop', { taskId })).status, 409);
    assert.equal((await call('post', '/tasks/{taskId}/invoke', { taskId })).status, 400);

    await sim.publish('control/proplet/task_metrics', {
      task_id: taskId,
      proplet_id: sim.id,
      metrics: { cpu_percent: 12.5, memory_bytes: 1024 },
      aggregated: { avg_cpu_usage: 10 },
      timestamp: new Date().toISOString(),
    });
    await waitFor(
      async () => (await call('get', '/tasks/{taskId}/metrics', { taskId })).body.metrics.length === 1,
      'the task metrics sample',
    );
    assert.equal((await call('get', '/tasks/{taskId}/metrics', { taskId: randomUUID() })).status, 404);
    assert.equal((await call('delete', '/tasks/{taskId}', { taskId })).status, 204);
    assert.equal((await call('delete', '/tasks/{taskId}', { taskId })).status, 404);
  });

  it('refuses a body beyond 10 MiB with 413', async () => {
    const huge = `{"name":"big","file":"${'A'.repeat(11 * 1024 * 1024)}"}`;
    const op = OPERATIONS.find((candidate) => candidate.operationId === 'createTask')!;
    const answer = await send('post', '/tasks', { raw: huge, type: 'application/json' });
    assert.equal(answer.status, 413);
    assert.ok(op.responses['413']!.body!.safeParse(answer.body).success);
  });

  it('a latent task: deployed, invoked, stopped', async () => {
    const taskId = (
      await call('post', '/tasks', {}, { body: { json: { name: 'add', file: WASM, latent: true } } })
    ).body.id as string;
    await call('post', '/tasks/{taskId}/start', { taskId });
    assert.equal((await call('post', '/tasks/{taskId}/start', { taskId })).status, 409);
    await untilState(taskId, TaskState.Running);
    const invoked = await call(
      'post',
      '/tasks/{taskId}/invoke',
      { taskId },
      { body: { json: { inputs: [1, 2] } } },
    );
    assert.deepEqual(invoked.body, { invoked: true, results: `ran ${taskId}` });
    // The proplet holds the task: it may not be deleted now.
    assert.equal((await call('delete', '/proplets/{propletId}', { propletId: sim.id })).status, 409);
    await call('post', '/tasks/{taskId}/stop', { taskId });
  });

  it('proplets: list, one, its SDF, heartbeats, metrics', async () => {
    const propletId = sim.id;
    await call('get', '/proplets', {}, { query: '?status=active' });
    await call('get', '/proplets/{propletId}', { propletId });
    await call('get', '/proplets/{propletId}/sdf', { propletId });
    const history = await call('get', '/proplets/{propletId}/alive-history', { propletId });
    assert.ok(history.body.history.length > 0);
    await sim.publish('control/proplet/metrics', {
      proplet_id: propletId,
      namespace: 'default',
      timestamp: new Date().toISOString(),
      cpu_metrics: { user_seconds: 1.25, system_seconds: 0.5, percent: 12.5 },
      memory_metrics: { rss_bytes: 1024, heap_alloc_bytes: 10, heap_sys_bytes: 20, heap_inuse_bytes: 10 },
    });
    await waitFor(
      async () =>
        (await call('get', '/proplets/{propletId}/metrics', { propletId })).body.metrics.length === 1,
      'the proplet metrics sample',
    );
    assert.equal((await call('get', '/proplets/{propletId}', { propletId: randomUUID() })).status, 404);
  });

  it('a workflow and a job', async () => {
    const first = randomUUID();
    const tasks = [
      { id: first, name: 'add', file: WASM },
      { name: 'add', file: WASM, depends_on: [first] },
    ];
    const workflow = await call('post', '/workflows', {}, { body: { json: { tasks } } });
    assert.equal(workflow.status, 201);
    await call('get', '/workflows/{workflowId}', { workflowId: workflow.body.workflow_id });
    assert.equal((await call('post', '/workflows', {}, { body: { json: { tasks } } })).status, 409);

    const job = await call(
      'post',
      '/jobs',
      {},
      { body: { json: { name: 'nightly', tasks: [{ name: 'add', file: WASM }] } } },
    );
    assert.equal(job.status, 201);
    const jobId = job.body.job_id as string;
    await call('get', '/jobs', {}, { query: '?status=pending' });
    await call('get', '/jobs/{jobId}', { jobId });
    await call('post', '/jobs/{jobId}/start', { jobId });
    await waitFor(
      async () => (await send('get', `/jobs/${jobId}`)).body.state === TaskState.Completed,
      'job done',
    );
    await call('post', '/jobs/{jobId}/stop', { jobId });
    assert.equal((await call('get', '/jobs/{jobId}', { jobId: randomUUID() })).status, 404);
  });

  it('a proplet gone quiet is deleted', async () => {
    await sim.stop();
    simStopped = true;
    assert.equal((await call('delete', '/proplets/{propletId}', { propletId: sim.id })).status, 204);
  });

  it('has exercised every documented operation successfully', () => {
    const missing = OPERATIONS.map((op) => `${op.method} ${op.path}`).filter((key) => !exercised.has(key));
    assert.deepEqual(missing, []);
  });
});
