import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { z } from 'zod';
import { TaskState } from '../../src/domain/task-state.ts';
import { openApiDocument } from '../../src/http/openapi/document.ts';
import { OPERATIONS } from '../../src/http/openapi/operations.ts';
import { toAttemptJson } from '../../src/http/schemas/attempt-view.ts';
import { toJobJson, toWorkflowJson } from '../../src/http/schemas/group-view.ts';
import { toPropletMetricsJson, toTaskMetricsJson } from '../../src/http/schemas/metrics-view.ts';
import { propletSdf } from '../../src/http/schemas/proplet-sdf.ts';
import { toPropletJson } from '../../src/http/schemas/proplet-view.ts';
import * as responses from '../../src/http/schemas/response-schemas.ts';
import { toTaskJson } from '../../src/http/schemas/task-view.ts';
import { isValid, pointer, propertiesOf, type Schema } from '../support/json-schema-check.ts';
import { makeTask } from './task-fixture.ts';

const doc: Schema = openApiDocument('1.2.3');
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const component = (name: string) => doc.components.schemas[name] as Schema;

/** Every object in the document with the JSON Pointer that reaches it. */
function* nodes(value: unknown, at = '#'): Generator<[string, Record<string, unknown>]> {
  if (value === null || typeof value !== 'object') return;
  if (!Array.isArray(value)) yield [at, value as Record<string, unknown>];
  for (const [key, child] of Object.entries(value))
    yield* nodes(child, `${at}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`);
}

const operations = () =>
  Object.entries(doc.paths as Record<string, Schema>).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({ path, method, op: op as Schema })),
  );

describe('the OpenAPI document, structurally', () => {
  it('is OpenAPI 3.1 with the required top-level fields', () => {
    assert.match(doc.openapi, /^3\.1\.\d+$/);
    assert.equal(doc.info.title, 'Propeller Manager API');
    assert.equal(doc.info.version, '1.2.3');
    assert.equal(typeof doc.paths, 'object');
    for (const path of Object.keys(doc.paths)) assert.match(path, /^\//);
  });

  it('gives every operation a unique id, a declared tag and described responses', () => {
    const ids = new Set<string>();
    const tags = new Set((doc.tags as Array<{ name: string }>).map((tag) => tag.name));
    for (const { path, method, op } of operations()) {
      const where = `${method} ${path}`;
      assert.ok(METHODS.includes(method), `${where}: not an HTTP method`);
      assert.equal(typeof op.operationId, 'string', where);
      assert.ok(!ids.has(op.operationId), `${where}: operationId ${op.operationId} repeated`);
      ids.add(op.operationId);
      assert.ok(op.tags.length > 0 && op.tags.every((tag: string) => tags.has(tag)), `${where}: tags`);
      const statuses = Object.keys(op.responses);
      assert.ok(
        statuses.some((status) => /^2\d\d$/.test(status)),
        `${where}: no success response`,
      );
      for (const [status, response] of Object.entries(op.responses as Record<string, Schema>)) {
        assert.match(status, /^([1-5]\d\d|default)$/, `${where}: status ${status}`);
        assert.equal(typeof response.description, 'string', `${where} ${status}: description`);
      }
      if (op.requestBody) assert.ok(Object.keys(op.requestBody.content).length > 0, `${where}: body`);
    }
  });

  it('declares each path parameter once, required, and only those in the path', () => {
    for (const { path, method, op } of operations()) {
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]);
      const declared = (op.parameters ?? []).filter((p: Schema) => p.in === 'path');
      assert.deepEqual(declared.map((p: Schema) => p.name).sort(), [...inPath].sort(), `${method} ${path}`);
      for (const parameter of op.parameters ?? []) {
        assert.ok(['path', 'query', 'header', 'cookie'].includes(parameter.in));
        if (parameter.in === 'path') assert.equal(parameter.required, true);
        // A parameter has a schema or a content, not both.
        assert.ok('schema' in parameter !== 'content' in parameter, `${method} ${path} ${parameter.name}`);
      }
    }
  });

  it('resolves every $ref, and embeds no $schema or $id that would change how they resolve', () => {
    let refs = 0;
    for (const [at, node] of nodes(doc)) {
      if (typeof node.$ref === 'string') {
        refs++;
        assert.doesNotThrow(() => pointer(doc, node.$ref as string), `${at}: ${String(node.$ref)}`);
      }
      assert.ok(!('$schema' in node) && !('$id' in node), `${at} carries $schema or $id`);
    }
    assert.ok(refs > 50, `only ${refs} references`);
  });

  it('describes the operations of the route table, each once', () => {
    assert.equal(operations().length, OPERATIONS.length);
  });
});

describe('request schemas, generated from the zod schemas the routes validate with', () => {
  it('sees through the pre-check of POST /tasks to its fields', () => {
    const task = component('NewTask');
    assert.deepEqual(task.required, ['name']);
    for (const field of ['name', 'file', 'inputs', 'schedule', 'priority', 'timeout', 'max_retries'])
      assert.ok(field in task.properties, field);
    assert.equal(task.properties.priority.anyOf[0].maximum, 100);
  });

  it('describes a task of a workflow by its stand-in: an id and the task of POST /tasks', () => {
    const groupTask = component('GroupTask');
    assert.ok(groupTask.allOf.some((part: Schema) => part.$ref === '#/components/schemas/NewTask'));
    assert.ok('id' in propertiesOf(groupTask, doc));
    assert.equal(component('NewWorkflow').properties.tasks.items.$ref, '#/components/schemas/GroupTask');
    assert.equal(component('NewJob').properties.tasks.minItems, 1);
  });

  it('reads transformed fields by what they accept: inputs as strings or numbers, null clearing a schedule', () => {
    const update = component('TaskUpdate');
    assert.ok(isValid(update, { inputs: [2, '3'], schedule: null }, doc));
    assert.ok(!isValid(update, { inputs: [true] }, doc));
    assert.ok(isValid(component('Invocation'), {}, doc));
  });

  it('declares the upload as multipart with a binary file part', () => {
    const upload = doc.paths['/tasks/{taskId}/upload'].put.requestBody.content['multipart/form-data'];
    assert.deepEqual(upload.schema.required, ['file']);
    assert.equal(upload.schema.properties.file.format, 'binary');
  });
});

/** The wire form of a view: what JSON.stringify leaves of it. */
const wire = (value: unknown): Record<string, unknown> => JSON.parse(JSON.stringify(value));

/** A view's output is valid by its zod schema and by the JSON Schema the document shows for it. */
function assertDocumented(schema: z.ZodType, name: string, value: unknown): void {
  const parsed = schema.safeParse(wire(value));
  assert.ok(parsed.success, `${name}: ${parsed.success ? '' : parsed.error.message}`);
  assert.ok(isValid(component(name), wire(value), doc), `${name}: refused by the document`);
}

const FULL_TASK = makeTask({
  imageUrl: 'https://example.com/add.wasm',
  file: Buffer.from('0061736d0100000001070160027f7f017f', 'hex'),
  cliArgs: ['-v'],
  inputs: ['2', '3'],
  env: { A: 'b' },
  latent: true,
  kbsResourcePath: 'kbs/key',
  propletId: 'proplet-1',
  dependsOn: ['6f1c1a2e-3b4d-4c5e-8f90-123456789abd'],
  runIf: 'failure',
  workflowId: '6f1c1a2e-3b4d-4c5e-8f90-123456789abe',
  results: { 'proplet-1': '5' },
  error: 'proplet proplet-2: trap',
  monitoringProfile: {
    enabled: true,
    interval: 10,
    collect_cpu: true,
    collect_memory: true,
    collect_disk_io: true,
    collect_threads: true,
    collect_file_descriptors: true,
    export_to_mqtt: true,
    retain_history: true,
    history_size: 100,
  },
  mode: 'infer',
  schedule: '30 6 * * 1-5',
  isRecurring: true,
  timezone: 'Europe/Paris',
  nextRun: new Date('2026-01-05T05:30:00Z'),
  broadcast: true,
  metadata: { team: 'a' },
  halStoragePath: '/data',
  timeoutSeconds: 30,
  maxRetries: 5,
  retryOnError: true,
  retries: 1,
  attempt: 2,
  state: TaskState.Failed,
  startTime: new Date('2026-01-02T03:04:06Z'),
  finishTime: new Date('2026-01-02T03:04:07Z'),
});

describe('response schemas, checked against the views that write the bodies', () => {
  it('documents a task with every field set, and one with none', () => {
    assertDocumented(responses.taskBody, 'Task', toTaskJson(FULL_TASK));
    assertDocumented(responses.taskBody, 'Task', toTaskJson(makeTask()));
  });

  it('refuses a field a view would add without its schema following', () => {
    assert.ok(!responses.taskBody.safeParse({ ...wire(toTaskJson(makeTask())), surprise: 1 }).success);
    assert.ok(!isValid(component('Task'), { ...wire(toTaskJson(makeTask())), surprise: 1 }, doc));
  });

  it('documents proplets, attempts, metrics samples and SDF', () => {
    const proplet = {
      id: 'p1',
      name: 'gentle-otter',
      taskCount: 1,
      metadata: { os: 'linux' },
      lastAliveAt: new Date(),
      createdAt: new Date(),
      alive: true,
    };
    assertDocumented(responses.propletBody, 'Proplet', toPropletJson(proplet));
    assertDocumented(responses.propletBody, 'Proplet', toPropletJson({ ...proplet, lastAliveAt: null }));
    const started = new Date();
    assertDocumented(responses.attemptsBody, 'TaskAttempts', {
      task_id: FULL_TASK.id,
      attempts: [
        toAttemptJson({
          attempt: 1,
          propletId: 'p1',
          startedAt: started,
          finishedAt: null,
          outcome: 'running',
          error: null,
        }),
        toAttemptJson({
          attempt: 2,
          propletId: 'p1',
          startedAt: started,
          finishedAt: started,
          outcome: 'proplet_lost',
          error: 'lost',
        }),
      ],
    });
    const page = { offset: 0, limit: 100, total: 1 };
    assertDocumented(responses.taskMetricsPageBody, 'TaskMetricsPage', {
      ...page,
      metrics: [
        toTaskMetricsJson({
          taskId: FULL_TASK.id,
          propletId: 'p1',
          metrics: { cpu_percent: 1 },
          aggregated: null,
          timestamp: started,
        }),
      ],
    });
    assertDocumented(responses.propletMetricsPageBody, 'PropletMetricsPage', {
      ...page,
      metrics: [
        toPropletMetricsJson({
          propletId: 'p1',
          namespace: 'default',
          cpuMetrics: { percent: 1 },
          memoryMetrics: { rss_bytes: 1 },
          timestamp: started,
        }),
      ],
    });
    assertDocumented(responses.sdfBody, 'SdfDocument', propletSdf({ id: 'p1', name: 'gentle-otter' }));
  });

  it('documents workflows and jobs', () => {
    const tasks = [FULL_TASK, makeTask()];
    assertDocumented(
      responses.workflowBody,
      'Workflow',
      toWorkflowJson({ workflowId: FULL_TASK.workflowId!, state: TaskState.Failed, tasks }),
    );
    const job = {
      id: FULL_TASK.workflowId!,
      name: 'nightly',
      executionMode: 'sequential',
      createdAt: new Date(),
      state: TaskState.Running,
      tasks,
    };
    assertDocumented(responses.jobBody, 'Job', toJobJson(job));
    assertDocumented(responses.jobBody, 'Job', toJobJson({ ...job, name: '', tasks: [] }));
  });
});
