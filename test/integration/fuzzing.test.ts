import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import mqtt, { type MqttClient } from 'mqtt';
import { identifierProblem } from '../../src/domain/identifiers.ts';
import { TaskState } from '../../src/domain/task-state.ts';
import { uuidId } from '../../src/http/schemas/ids.ts';
import { OPERATIONS, type OperationSpec } from '../../src/http/openapi/operations.ts';
import { registry } from '../../src/observability/metrics.ts';
import { channelBase, PROPLET_TOPICS } from '../../src/mqtt/topics.ts';
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
 * Property-based fuzzing of a running manager: thousands of generated malformed HTTP requests at every
 * operation of the OpenAPI document, and thousands of malformed MQTT payloads at every proplet topic. Every
 * HTTP answer must come in time, never be a 5xx, and be a JSON error when it refuses; afterwards the manager
 * still serves, the counters moved, a normal task runs end to end, and nothing changed but what the
 * fuzzer's own valid requests created.
 *
 * FUZZ_RUNS sets the number of HTTP requests and of MQTT payloads (default 2000 each, about half a minute
 * here); FUZZ_SEED replays a run: a failure prints its seed and path.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 2_000);
const SEED =
  process.env.FUZZ_SEED === undefined
    ? Date.now() ^ (Math.random() * 2 ** 31)
    : Number(process.env.FUZZ_SEED);
const MAX_BODY = 256 * 1024;
const MAX_PACKET = 256 * 1024;
/** No request of this manager takes long; one that does is a hang. */
const ANSWER_WITHIN_MS = 15_000;
/** A run that hangs (a broker that went away, say) fails instead; proportional to the runs asked for. */
const FUZZ_TIMEOUT = { timeout: 120_000 + RUNS * 100 };

let harness: TestManager;
let sim: SimulatedProplet;
let attacker: MqttClient;
let wasm: string;
/** A task the HTTP fuzzer may do anything to. */
let target: string;
/** A task running on the proplet that neither fuzzer may name with the proplet's id: it must not change. */
let bystander: string;
let bystanderBefore: unknown;

const api = (method: string, path: string, body?: unknown) => request(harness.baseUrl, method, path, body);

async function counter(name: string): Promise<Map<string, number>> {
  const metric = await registry.getSingleMetric(name)!.get();
  return new Map(metric.values.map((value) => [JSON.stringify(value.labels), value.value]));
}
const sum = (values: Map<string, number>) => [...values.values()].reduce((total, n) => total + n, 0);

// ---------------------------------------------------------------------------------------------------------
// Values that break things

/** Ids that are no id: not UUIDs, control and invisible characters, huge, path tricks, encodings. */
const badId = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }),
  fc.constantFrom('..', '.', '%00', '%zz', 'constructor', '__proto__', 'null', '-1', ' ', '\u0000', '\u202e'),
  fc.integer({ min: 300, max: 5_000 }).map((n) => 'x'.repeat(n)),
);

/** A piece of text meant to hurt: empty, huge, NUL, lone surrogates, bidi overrides, SQL and HTML. */
const nastyString = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom('', '\u0000', 'a\u0000b', '\ud800', '\u202e', "'; DROP TABLE tasks; --", '<script>'),
  fc.integer({ min: 1_000, max: 300_000 }).map((n) => 'y'.repeat(n)),
);

/** `[[…]]` or `{"a":{…}}`, nested deeper than anything the manager takes. */
const deepJson = fc
  .tuple(fc.integer({ min: 33, max: 20_000 }), fc.boolean())
  .map(([depth, arrays]) =>
    arrays ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
  );

/** JSON values of every kind, wrong types included, with some nasty leaves. */
const jsonLeaf = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  nastyString,
  fc.constantFrom(-1, 0, 1e308, 2 ** 53, 1.5),
);

/** Keys that pollute prototypes once copied into an object. */
const prototypeBody = fc.constantFrom(
  '{"__proto__":{"polluted":true},"name":"x"}',
  '{"name":"x","metadata":{"__proto__":{"polluted":true}}}',
  '{"name":"x","env":{"constructor":{"prototype":{"polluted":true}}}}',
  '{"tasks":[{"name":"x","__proto__":{"polluted":true}}]}',
);

// ---------------------------------------------------------------------------------------------------------
// HTTP requests

interface HttpCase {
  /** The operation's id (its spec is looked up): a failing case prints short. */
  operationId: string;
  path: string;
  query: string;
  body?: { bytes: string | Uint8Array | FormData; type?: string };
  /** Bound to be refused: a bad UUID, a broken or oversized body, the wrong content type. */
  refused: boolean;
}

const EXAMPLES: Record<string, () => Record<string, unknown>> = {
  createTask: () => ({ name: 'add', file: wasm, inputs: [2, 3] }),
  createTaskBatch: () => ({ tasks: [{ name: 'add', file: wasm, inputs: [2, 3] }], start: false }),
  updateTask: () => ({ inputs: [4, 5] }),
  invokeTask: () => ({ inputs: [1] }),
  createWorkflow: () => ({ tasks: [{ name: 'a', file: wasm }] }),
  createJob: () => ({ name: 'nightly', tasks: [{ name: 'a', file: wasm }] }),
};

/** A valid example with one field (perhaps nested) replaced by a fuzzed value. */
function mutated(example: Record<string, unknown>): fc.Arbitrary<Record<string, unknown>> {
  const paths: Array<Array<string | number>> = [];
  const walk = (value: unknown, at: Array<string | number>) => {
    if (at.length > 0) paths.push(at);
    if (Array.isArray(value)) value.forEach((item, i) => walk(item, [...at, i]));
    else if (value && typeof value === 'object')
      for (const [key, item] of Object.entries(value)) walk(item, [...at, key]);
  };
  walk(example, []);
  const fields = [
    'name',
    'file',
    'inputs',
    'env',
    'metadata',
    'proplet_id',
    'priority',
    'schedule',
    'timeout',
    'depends_on',
    'workflow_id',
    'job_id',
    'image_url',
    'cli_args',
    'monitoring_profile',
    'broadcast',
    'tasks',
  ];
  return fc
    .tuple(
      fc.oneof(
        // An operation without an example has no paths of its own: fields alone then.
        ...(paths.length > 0 ? [fc.constantFrom(...paths)] : []),
        fc.constantFrom(...fields).map((key): Array<string | number> => [key]),
      ),
      jsonLeaf,
    )
    .map(([path, value]) => {
      const copy = structuredClone(example) as any;
      let node = copy;
      for (const key of path.slice(0, -1)) node = node[key];
      node[path.at(-1)!] = value;
      return copy as Record<string, unknown>;
    });
}

const CONTENT_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'application/xml',
  'application/json; charset=utf-16',
  'application/json; charset=koi8-r',
];

function jsonBodies(op: OperationSpec): fc.Arbitrary<{ body: HttpCase['body']; refused: boolean }> {
  const example = EXAMPLES[op.operationId]?.() ?? {};
  const json = (text: string, refused = false) => ({
    body: { bytes: text, type: 'application/json' },
    refused,
  });
  return fc.oneof(
    mutated(example).map((body) => json(JSON.stringify(body))),
    jsonLeaf.map((value) => json(JSON.stringify(value) ?? 'null')),
    fc
      .dictionary(fc.string({ maxLength: 12 }), jsonLeaf, { maxKeys: 6 })
      .map((value) => json(JSON.stringify(value))),
    deepJson.map((text) => json(text, true)),
    prototypeBody.map((text) => json(text, true)),
    // Not JSON: truncated, invalid UTF-8 and control bytes, text.
    fc
      .constantFrom('{', '{"name":', '{"name":"x",}', "{'name':'x'}", 'undefined', '{"a":1}{"b":2}')
      .map((text) => json(text, true)),
    fc.uint8Array({ minLength: 1, maxLength: 200 }).map((bytes) => ({
      body: { bytes: Uint8Array.from([0xff, ...bytes]), type: 'application/json' },
      refused: true,
    })),
    // Beyond MANAGER_HTTP_MAX_BODY.
    fc
      .integer({ min: MAX_BODY + 1, max: MAX_BODY * 2 })
      .map((n) => json(`{"name":"${'z'.repeat(n)}"}`, true)),
    // Right body, wrong content type.
    fc.constantFrom(...CONTENT_TYPES).map((type) => ({
      body: { bytes: JSON.stringify(example), type },
      refused: op.body?.kind === 'json' && op.body.required,
    })),
  );
}

function uploadBodies(): fc.Arbitrary<{ body: HttpCase['body']; refused: boolean }> {
  const form = (parts: Array<[string, Uint8Array, string | undefined]>) => {
    const data = new FormData();
    for (const [name, bytes, filename] of parts)
      if (filename === undefined) data.append(name, new TextDecoder().decode(bytes));
      else data.append(name, new Blob([bytes]), filename);
    return data;
  };
  return fc.oneof(
    fc
      .array(
        fc.tuple(
          fc.constantFrom('file', 'other', ''),
          fc.oneof(
            fc.uint8Array({ maxLength: 300 }),
            fc.constant(Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0])),
          ),
          fc.option(fc.constantFrom('add.wasm', 'a.txt', '', '../../etc/passwd', 'x\u0000.wasm'), {
            nil: undefined,
          }),
        ),
        { maxLength: 4 },
      )
      .map((parts) => ({ body: { bytes: form(parts) }, refused: false })),
    // Multipart without a boundary, with another one, or not multipart at all.
    fc
      .uint8Array({ maxLength: 300 })
      .chain((bytes) =>
        fc.constantFrom(
          { body: { bytes, type: 'multipart/form-data' }, refused: true },
          { body: { bytes, type: 'multipart/form-data; boundary=nothing-like-it' }, refused: true },
          { body: { bytes, type: 'application/octet-stream' }, refused: true },
        ),
      ),
    fc.integer({ min: MAX_BODY + 1, max: MAX_BODY * 2 }).map((n) => ({
      body: { bytes: new Uint8Array(n), type: 'multipart/form-data; boundary=x' },
      refused: true,
    })),
  );
}

/** Percent-encoded; a lone surrogate (which the fuzzer makes) has no UTF-8 form, so it becomes U+FFFD. */
const encoded = (text: string) =>
  encodeURIComponent(
    text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'),
  );

/** A query string: the declared parameters with fuzzed values, unknown ones, repeats and bad encodings. */
function queries(op: OperationSpec): fc.Arbitrary<string> {
  const names = [...(op.query ?? []).map((parameter) => parameter.name), 'offset', 'limit', 'status', 'x'];
  const value = fc.oneof(
    nastyString.map((text) => encoded(text.slice(0, 2_000))),
    fc.constantFrom(
      '-1',
      '1.5',
      '1e3',
      '99999999999999999999',
      'constructor',
      '__proto__',
      '%zz',
      '%',
      '[]',
      '{}',
    ),
    deepJson.map((text) => encoded(text.slice(0, 4_000))),
    fc.jsonValue({ maxDepth: 2 }).map((json) => encoded(JSON.stringify(json) ?? '')),
  );
  return fc
    .array(fc.tuple(fc.constantFrom(...names, 'limit[]', 'metadata[a]'), value), { maxLength: 4 })
    .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`));
}

/** The path with each parameter an id that exists (the target), one that does not, or a bad one. */
function paths(op: OperationSpec): fc.Arbitrary<{ path: string; refused: boolean }> {
  const params = Object.entries(op.pathParameters ?? {});
  if (params.length === 0) return fc.constant({ path: op.path, refused: false });
  const existing = (name: string) => (name === 'propletId' ? sim.id : target);
  return fc
    .array(
      fc.oneof(
        // A proplet is never deleted by its real id: the fuzzer must not take away the one that runs tasks.
        fc.constant('existing' as const),
        fc.constant('unknown' as const),
        // `.` and `..` (even encoded) are dot segments: a URL loses them before it is sent.
        badId.filter((id) => id !== '.' && id !== '..'),
      ),
      { minLength: params.length, maxLength: params.length },
    )
    .map((choices) => {
      let path = op.path;
      let refused = false;
      params.forEach(([name, spec], i) => {
        const choice = choices[i]!;
        let id: string;
        if (choice === 'existing' && !(op.method === 'delete' && name === 'propletId')) id = existing(name);
        else if (choice === 'existing' || choice === 'unknown') id = randomUUID();
        else {
          id = choice;
          if (spec.schema === uuidId && !uuidId.safeParse(choice).success) refused = true;
        }
        // An empty id would make another route's path; encoded, every other one stays in its segment.
        path = path.replace(`{${name}}`, encoded(id === '' ? ' ' : id));
      });
      return { path, refused };
    });
}

function httpCases(): fc.Arbitrary<HttpCase> {
  return fc.oneof(
    ...OPERATIONS.map((op) => {
      const bodies =
        op.body?.kind === 'json'
          ? jsonBodies(op)
          : op.body?.kind === 'multipart'
            ? uploadBodies()
            : op.method === 'get'
              ? fc.constant({ body: undefined, refused: false })
              : // A body where none is taken must be ignored, or refused, never a crash.
                fc.option(
                  nastyString.map((text) => ({
                    body: { bytes: text, type: 'application/json' },
                    refused: false,
                  })),
                  {
                    nil: { body: undefined, refused: false },
                  },
                );
      return fc.tuple(paths(op), queries(op), bodies).map(([path, query, body]): HttpCase => ({
        operationId: op.operationId,
        path: path.path,
        query,
        ...(body.body ? { body: body.body } : {}),
        refused: path.refused || body.refused,
      }));
    }),
  );
}

/** What the fuzzer's valid requests created and deleted, to tell them from changes it must not make. */
const made = { tasks: 0, deleted: 0, jobs: new Set<string>() };
/** Answers that came from the app, not from Node's HTTP parser (which refuses a URL beyond 16 KiB itself). */
let answeredByApp = 0;
const PARSER_REFUSALS = new Set(['request line or headers too large', 'malformed HTTP request']);

const operation = (id: string) => OPERATIONS.find((op) => op.operationId === id)!;

async function send(c: HttpCase): Promise<void> {
  const op = operation(c.operationId);
  const headers: Record<string, string> = {};
  if (c.body?.type) headers['content-type'] = c.body.type;
  const response = await fetch(`${harness.baseUrl}${c.path}${c.query}`, {
    method: op.method.toUpperCase(),
    headers,
    ...(c.body ? { body: c.body.bytes } : {}),
    signal: AbortSignal.timeout(ANSWER_WITHIN_MS),
  });
  const type = response.headers.get('content-type') ?? '';
  if (type.startsWith('text/event-stream')) {
    // The stream stays open; that it answered is all there is to see.
    await response.body?.cancel();
    assert.equal(response.status, 200);
    return;
  }
  const text = await response.text();
  const what = `${op.method.toUpperCase()} ${c.path.slice(0, 120)}${c.query.slice(0, 80)} → ${response.status} ${text.slice(0, 200)}`;
  assert.ok(response.status < 500, what);
  if (c.refused) assert.ok(response.status >= 400, `${what}: bound to be refused`);
  let error: unknown;
  if (response.status >= 400) {
    assert.match(type, /^application\/json/, what);
    error = (JSON.parse(text) as { error?: unknown }).error;
    assert.equal(typeof error, 'string', what);
  }
  if (!PARSER_REFUSALS.has(error as string)) answeredByApp++;
  if (response.status === 201) {
    const body = JSON.parse(text) as { id?: string; job_id?: string; tasks?: Array<{ job_id?: string }> };
    made.tasks += body.tasks ? body.tasks.length : 1;
    for (const jobId of [body.job_id, ...(body.tasks ?? []).map((task) => task.job_id)])
      if (jobId) made.jobs.add(jobId);
  }
  if (response.status === 204 && op.operationId === 'deleteTask') made.deleted++;
}

// ---------------------------------------------------------------------------------------------------------
// MQTT payloads

type Topic = keyof typeof PROPLET_TOPICS;
interface MqttCase {
  topic: Topic;
  payload: string | Uint8Array;
}

/** Proplet ids for payloads that could otherwise be accepted: anything but the proplet that holds tasks. */
const strangerId = fc.oneof(fc.uuid().map(String), badId, jsonLeaf);
const taskIdFor = () => fc.oneof(fc.constant(bystander), fc.uuid().map(String), badId, jsonLeaf);

/**
 * The shape of each topic's payload with fuzzed fields. A discovery or heartbeat with a sane id would
 * register a proplet, which is what they are for: their ids are always bad ones here.
 */
function shaped(topic: Topic): fc.Arbitrary<unknown> {
  const alwaysBadProplet = fc.oneof(
    badId.filter((id) => identifierProblem(id) !== undefined),
    jsonLeaf.filter((value) => typeof value !== 'string'),
  );
  switch (topic) {
    case 'create':
      return fc.record({
        proplet_id: alwaysBadProplet,
        namespace: jsonLeaf,
        metadata: fc.oneof(jsonLeaf, fc.record({ tags: jsonLeaf, total_memory_bytes: jsonLeaf })),
      });
    case 'alive':
      return fc.record({
        proplet_id: alwaysBadProplet,
        status: fc.oneof(fc.constantFrom('alive', 'offline'), jsonLeaf),
      });
    case 'results':
      // Always with a proplet_id: a result naming none is applied to a running task, as upstream does.
      return fc.record({ task_id: taskIdFor(), proplet_id: strangerId, results: jsonLeaf, error: jsonLeaf });
    case 'invokeResults':
      return fc.record({
        task_id: taskIdFor(),
        invocation_id: fc.oneof(fc.uuid().map(String), badId),
        proplet_id: strangerId,
        results: jsonLeaf,
        error: jsonLeaf,
      });
    case 'taskMetrics':
      return fc.record({
        task_id: taskIdFor(),
        proplet_id: strangerId,
        metrics: fc.oneof(jsonLeaf, fc.dictionary(fc.string({ maxLength: 70 }), jsonLeaf)),
        timestamp: jsonLeaf,
      });
    case 'propletMetrics':
      return fc.record({
        proplet_id: strangerId,
        namespace: jsonLeaf,
        cpu_metrics: fc.oneof(jsonLeaf, fc.record({ user_seconds: jsonLeaf })),
        memory_metrics: jsonLeaf,
      });
  }
}

function mqttCases(): fc.Arbitrary<MqttCase> {
  const topics = Object.keys(PROPLET_TOPICS) as Topic[];
  return fc.constantFrom(...topics).chain((topic) =>
    fc
      .oneof(
        shaped(topic).map((value) => JSON.stringify(value) ?? 'null'),
        fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value) ?? 'null'),
        fc.uint8Array({ maxLength: 300 }),
        fc.string({ unit: 'binary', maxLength: 200 }),
        deepJson,
        fc
          .integer({ min: MAX_PACKET + 1, max: MAX_PACKET + 4_096 })
          .map((n) => `{"task_id":"${'q'.repeat(n)}"}`),
      )
      .map((payload) => ({ topic, payload })),
  );
}

// ---------------------------------------------------------------------------------------------------------

before(async () => {
  wasm = (await readFile(new URL('../../examples/add.wasm', import.meta.url))).toString('base64');
  harness = await startTestManager({
    MANAGER_HTTP_MAX_BODY: '256KiB',
    MANAGER_PROPLET_MAX_PACKET_SIZE: '256KiB',
    // Invocations the fuzzer makes wait no longer than a request may.
    MANAGER_INVOKE_TIMEOUT: '2s',
  });
  sim = await new SimulatedProplet(harness.config.mqtt, (start) =>
    start.name === 'bystander' ? 'keep-running' : { results: `ran ${start.name}` },
  ).start();
  await untilPropletAlive(harness.baseUrl, sim.id);
  attacker = await mqtt.connectAsync(TEST_MQTT_URL, {
    protocolVersion: TEST_MQTT_PROTOCOL_VERSION,
    reconnectPeriod: 0,
  });
  target = (await api('POST', '/tasks', { name: 'target', file: wasm })).body.id as string;
  bystander = (await api('POST', '/tasks', { name: 'bystander', file: wasm, metadata: { keep: 'me' } })).body
    .id as string;
  assert.equal((await api('POST', `/tasks/${bystander}/start`)).status, 200);
  await sim.waitForStart(bystander);
  bystanderBefore = (await api('GET', `/tasks/${bystander}`)).body;
});

after(async () => {
  await attacker?.endAsync();
  await sim?.stop();
  await harness?.close();
});

describe('fuzzing a running manager', () => {
  let snapshot: { tasks: number; proplets: number; jobs: number };

  before(async () => {
    snapshot = {
      tasks: (await api('GET', '/tasks?limit=1')).body.total,
      proplets: (await api('GET', '/proplets?limit=0')).body.total,
      jobs: (await api('GET', '/jobs?limit=0')).body.total,
    };
  });

  it(
    `answers ${RUNS} malformed HTTP requests in time, never with a 5xx (seed ${SEED})`,
    FUZZ_TIMEOUT,
    async () => {
      const before = sum(await counter('propeller_http_requests_total'));
      await fc.assert(fc.asyncProperty(httpCases(), send), { numRuns: RUNS, seed: SEED, endOnFailure: true });
      const counted = sum(await counter('propeller_http_requests_total')) - before;
      assert.ok(counted >= answeredByApp, `${counted} requests counted, ${answeredByApp} answered`);
    },
  );

  it(
    `drops and counts ${RUNS} malformed MQTT payloads on every proplet topic (seed ${SEED})`,
    FUZZ_TIMEOUT,
    async () => {
      const base = channelBase(harness.config.mqtt.tenantId, harness.config.mqtt.channelId);
      const rejectedBefore = await counter('propeller_mqtt_rejected_payloads_total');
      const inBefore = sum(await counter('propeller_mqtt_messages_in_total'));
      /** Answers that may reach an invocation mailbox, no one waiting: the only payloads not counted. */
      let uncounted = 0;
      await fc.assert(
        fc.asyncProperty(mqttCases(), async ({ topic, payload }) => {
          if (topic === 'invokeResults') uncounted++;
          await attacker.publishAsync(`${base}/${PROPLET_TOPICS[topic]}`, Buffer.from(payload), { qos: 1 });
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
      await waitFor(
        async () => sum(await counter('propeller_mqtt_messages_in_total')) - inBefore >= RUNS,
        'every payload received',
        60_000,
      );
      const rejected = await waitFor(
        async () => {
          const now = await counter('propeller_mqtt_rejected_payloads_total');
          const moved = sum(now) - sum(rejectedBefore);
          return moved >= RUNS - uncounted ? now : undefined;
        },
        `at least ${RUNS - uncounted} rejections`,
        60_000,
      );
      const reasons = new Set(
        [...rejected]
          .filter(([labels, value]) => value > (rejectedBefore.get(labels) ?? 0))
          .map(([labels]) => (JSON.parse(labels) as { reason: string }).reason),
      );
      if (RUNS >= 500)
        for (const reason of ['not_json', 'too_deep', 'too_large', 'schema', 'bad_id', 'unknown_proplet'])
          assert.ok(reasons.has(reason), `${reason} among ${[...reasons].join(', ')}`);
    },
  );

  it('still serves afterwards, runs a normal task end to end, and nothing else changed', async () => {
    assert.equal((await api('GET', '/health')).status, 200);
    const created = await api('POST', '/tasks', { name: 'add', file: wasm, inputs: [2, 3] });
    assert.equal(created.status, 201);
    const id = created.body.id as string;
    assert.equal((await api('POST', `/tasks/${id}/start`)).status, 200);
    const done = await waitFor(async () => {
      const task = (await api('GET', `/tasks/${id}`)).body;
      return task.state === TaskState.Completed ? task : undefined;
    }, 'the task after the fuzzing completed');
    assert.equal(done.results, 'ran add');

    // The bystander: untouched by every message naming it, still running on its proplet.
    assert.deepEqual((await api('GET', `/tasks/${bystander}`)).body, bystanderBefore);
    assert.equal((await api('GET', `/tasks/${bystander}/metrics`)).body.total, 0);
    assert.equal(
      (await api('GET', '/tasks?limit=1')).body.total,
      snapshot.tasks + made.tasks - made.deleted + 1,
    );
    assert.equal((await api('GET', '/proplets?limit=0')).body.total, snapshot.proplets);
    assert.equal((await api('GET', '/jobs?limit=0')).body.total, snapshot.jobs + made.jobs.size);
    // No prototype was polluted in this process.
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});
