import { z } from 'zod';
import { createJobBody, createWorkflowBody } from '../schemas/group-input.ts';
import { anyId, uuidId } from '../schemas/ids.ts';
import { eventStreamQuery } from '../schemas/event-query.ts';
import { invokeBody } from '../schemas/invoke-input.ts';
import * as responses from '../schemas/response-schemas.ts';
import { createTaskBatchBody, MAX_BATCH_TASKS } from '../schemas/task-batch-input.ts';
import { createTaskBody, updateTaskBody } from '../schemas/task-input.ts';
import type { JsonSchema } from './json-schema.ts';

/**
 * Every operation of the HTTP API, as the OpenAPI document describes it. Request bodies are the zod schemas
 * the routes validate with; responses are the schemas of response-schemas.ts. What the routes parse by hand
 * (query parameters) is written here, and test/integration/openapi.test.ts holds the server to it: every
 * route served is listed here and every operation listed is served, bodies the document calls invalid are
 * refused, and real responses match their schemas.
 */

export type Method = 'get' | 'post' | 'put' | 'delete';

export interface ParameterSpec {
  name: string;
  description: string;
  schema: z.ZodType;
  /** The value is a JSON document (`?metadata={"team":"a"}`), not a plain string. */
  json?: boolean;
}

export interface ResponseSpec {
  description: string;
  /** A JSON body; none for 204. */
  body?: z.ZodType;
  /** A body of text in another format (Prometheus exposition, a server-sent-events stream). */
  text?: { mediaType: string };
  headers?: Record<string, { description: string; schema: JsonSchema }>;
}

export type BodySpec =
  | { kind: 'json'; schema: z.ZodType; required: boolean; description?: string }
  | { kind: 'multipart'; schema: JsonSchema; description: string };

export interface OperationSpec {
  method: Method;
  /** In OpenAPI's form, `/tasks/{taskId}`; the names are those of the Express route parameters. */
  path: string;
  operationId: string;
  tag: Tag;
  summary: string;
  description?: string;
  /** The schema of each `{name}` in the path. */
  pathParameters?: Record<string, { schema: z.ZodType; description: string }>;
  query?: ParameterSpec[];
  body?: BodySpec;
  responses: Record<string, ResponseSpec>;
}

export const TAGS = {
  tasks: 'Tasks: create, run, stop, invoke, and read their results, runs and metrics',
  proplets: 'Proplets: the edge workers, their liveness, metrics and SDF description',
  workflows: 'Workflows: tasks created together, with dependencies among them',
  jobs: 'Jobs: workflows with an execution mode and a start and stop of their own',
  health: 'Whether this process and the services it depends on answer',
  monitoring:
    "What the manager is doing: Prometheus metrics, the stream of task changes, the dashboard's counts",
  documentation: 'This document',
} as const;

export type Tag = keyof typeof TAGS;

/** The meaning of each error status, where an operation gives it no wording of its own. */
const ERRORS = {
  400: 'Bad input: malformed JSON, a bad field (named in the message), a bad id or query parameter',
  404: 'No such resource',
  409: 'The resource is in a state that does not allow it',
  413: 'Request body beyond MANAGER_HTTP_MAX_BODY (default 10 MiB), or a task whose start command would not fit in a proplet MQTT packet (MANAGER_PROPLET_MAX_PACKET_SIZE): host the module and use image_url',
  502: 'The proplet answered with an error',
  503: 'A service the manager needs (the queue) did not answer; nothing was changed, try again',
  504: 'The proplet did not answer in time',
} as const;

type ErrorStatus = keyof typeof ERRORS;

function refusals(...statuses: Array<ErrorStatus | [ErrorStatus, string]>): Record<string, ResponseSpec> {
  return Object.fromEntries(
    statuses.map((entry) => {
      const [status, description] = Array.isArray(entry) ? entry : [entry, ERRORS[entry]];
      return [String(status), { description, body: responses.errorBody }];
    }),
  );
}

const ok = (description: string, body: z.ZodType): Record<string, ResponseSpec> => ({
  '200': { description, body },
});

const taskId = { taskId: { schema: uuidId, description: 'The task' } };
const jobId = { jobId: { schema: uuidId, description: 'The job' } };
const workflowId = { workflowId: { schema: uuidId, description: 'The workflow' } };
const propletUuid = { propletId: { schema: uuidId, description: 'The proplet (its MQTT entity id)' } };
const propletAnyId = { propletId: { schema: anyId, description: 'The proplet (its MQTT entity id)' } };

const offset: ParameterSpec = {
  name: 'offset',
  description: 'Items to skip',
  schema: z.int().min(0).default(0),
};
/** Lists other than tasks take any limit, as upstream; more than 1,000 is served as 1,000. */
const openLimit: ParameterSpec = {
  name: 'limit',
  description: 'Items per page; more than 1,000 is served as 1,000',
  schema: z.int().min(0).default(100),
};
const openPage = [offset, openLimit];

const jsonBody = (schema: z.ZodType, description?: string): BodySpec => ({
  kind: 'json',
  schema,
  required: true,
  ...(description ? { description } : {}),
});

const location = (what: string) => ({
  Location: { description: `Path of the new ${what}`, schema: { type: 'string' } },
});

export const OPERATIONS: readonly OperationSpec[] = [
  // Tasks
  {
    method: 'get',
    path: '/tasks',
    operationId: 'listTasks',
    tag: 'tasks',
    summary: 'List tasks, newest first',
    query: [
      offset,
      {
        name: 'limit',
        description: 'Tasks per page',
        schema: z.int().min(1).max(100).default(100),
      },
      {
        name: 'metadata',
        description: 'Only tasks whose metadata contains this JSON object',
        schema: z.record(z.string(), z.unknown()),
        json: true,
      },
    ],
    responses: { ...ok('A page of tasks', responses.taskListBody), ...refusals(400) },
  },
  {
    method: 'post',
    path: '/tasks',
    operationId: 'createTask',
    tag: 'tasks',
    summary: 'Create a task',
    description:
      'Server-owned fields a client sends (id, state, results, times) are ignored. A schedule is registered ' +
      'with the queue before the answer, or the task is not created (503).',
    body: jsonBody(createTaskBody),
    responses: {
      '201': { description: 'Created', body: responses.taskBody, headers: location('task') },
      ...refusals(400, 413, 503),
    },
  },
  {
    method: 'post',
    path: '/tasks/batch',
    operationId: 'createTaskBatch',
    tag: 'tasks',
    summary: 'Create many tasks at once, and start them',
    description:
      `1 to ${MAX_BATCH_TASKS} tasks, each as POST /tasks takes it, created all or none in one transaction; ` +
      'a problem names the task by its place (tasks[3].name). With "start": true each is also started as ' +
      'POST /tasks/{id}/start starts one (answered Scheduled), or, when the queue cannot take the starts, ' +
      'none is created (503). A task with a schedule, depends_on, a workflow_id or a job_id needs work of its ' +
      'own and is refused (400): create it with POST /tasks, POST /workflows or POST /jobs.',
    body: jsonBody(createTaskBatchBody),
    responses: {
      '201': { description: 'Created, in the order of the request', body: responses.taskBatchBody },
      ...refusals(
        [
          400,
          'Bad input: a bad field, named with its task (tasks[3].name), or, to start, a task with no Wasm',
        ],
        413,
        503,
      ),
    },
  },
  {
    method: 'get',
    path: '/tasks/{taskId}',
    operationId: 'getTask',
    tag: 'tasks',
    summary: 'Get a task',
    pathParameters: taskId,
    responses: { ...ok('The task', responses.taskBody), ...refusals(400, 404) },
  },
  {
    method: 'put',
    path: '/tasks/{taskId}',
    operationId: 'updateTask',
    tag: 'tasks',
    summary: 'Change fields of a task',
    description:
      'Only fields sent with a value change, so a client sending a whole task with empty fields wipes ' +
      'nothing; "schedule": null clears a schedule. A running task keeps running what it was given.',
    pathParameters: taskId,
    body: jsonBody(updateTaskBody),
    responses: {
      ...ok('The task as changed', responses.taskBody),
      ...refusals(400, 404, 413, [
        503,
        'The schedule was saved but could not be registered with the queue; send the update again',
      ]),
    },
  },
  {
    method: 'delete',
    path: '/tasks/{taskId}',
    operationId: 'deleteTask',
    tag: 'tasks',
    summary: 'Delete a task',
    description: 'A running task is stopped on its proplet; its schedule is removed.',
    pathParameters: taskId,
    responses: { '204': { description: 'Deleted' }, ...refusals(400, 404) },
  },
  {
    method: 'put',
    path: '/tasks/{taskId}/upload',
    operationId: 'uploadTaskFile',
    tag: 'tasks',
    summary: "Upload the task's Wasm module",
    description: 'Sets the file and nothing else; the body is read as it streams in.',
    pathParameters: taskId,
    body: {
      kind: 'multipart',
      description: 'The module in a part named file; other parts are ignored',
      schema: {
        type: 'object',
        properties: {
          file: {
            type: 'string',
            format: 'binary',
            contentMediaType: 'application/wasm',
            description: 'A .wasm file (its name must end in .wasm, its bytes start with \\0asm)',
          },
        },
        required: ['file'],
      },
    },
    responses: {
      ...ok('The task with its new file', responses.taskBody),
      ...refusals([400, 'Not a .wasm file, no file part, or not a well-formed multipart body'], 404, [
        413,
        'Upload beyond MANAGER_HTTP_MAX_BODY, or a module whose start command would not fit in a proplet MQTT packet',
      ]),
    },
  },
  {
    method: 'post',
    path: '/tasks/{taskId}/start',
    operationId: 'startTask',
    tag: 'tasks',
    summary: 'Start a task',
    description:
      'Marks it Scheduled and queues its start; it is dispatched to a live proplet as soon as there is one ' +
      '(failing after MANAGER_START_TIMEOUT). A finished task may be started again.',
    pathParameters: taskId,
    responses: {
      ...ok('Queued', responses.startedBody),
      ...refusals(
        [400, 'A bad id, or the task cannot run (no file nor image_url)'],
        404,
        [409, 'Already scheduled or running, or its dependencies have not finished'],
        503,
      ),
    },
  },
  {
    method: 'post',
    path: '/tasks/{taskId}/stop',
    operationId: 'stopTask',
    tag: 'tasks',
    summary: 'Stop a task',
    description:
      'A running task gets a stop command and fails at once ("stopped by user"); a scheduled one is withdrawn.',
    pathParameters: taskId,
    responses: {
      ...ok('Stopped', responses.stoppedBody),
      ...refusals(400, 404, [409, 'Neither scheduled nor running']),
    },
  },
  {
    method: 'post',
    path: '/tasks/{taskId}/invoke',
    operationId: 'invokeTask',
    tag: 'tasks',
    summary: 'Run a deployed latent task and wait for its answer',
    description: 'Waits up to MANAGER_INVOKE_TIMEOUT. Without a body, the task runs with its own inputs.',
    pathParameters: taskId,
    body: { kind: 'json', schema: invokeBody, required: false },
    responses: {
      ...ok("The proplet's answer", responses.invokedBody),
      ...refusals(
        [400, 'A bad id or body, or the task is not latent'],
        404,
        [409, 'The task is not deployed (not running)'],
        413,
        502,
        [503, 'No live proplet has it, or the queue did not answer; it is being re-deployed, try again'],
        504,
      ),
    },
  },
  {
    method: 'get',
    path: '/tasks/{taskId}/results',
    operationId: 'getTaskResults',
    tag: 'tasks',
    summary: 'Get the results of a task',
    pathParameters: taskId,
    responses: { ...ok('The results', responses.taskResultsBody), ...refusals(400, 404) },
  },
  {
    method: 'get',
    path: '/tasks/{taskId}/attempts',
    operationId: 'listTaskAttempts',
    tag: 'tasks',
    summary: 'List every run of a task, oldest first',
    pathParameters: taskId,
    responses: { ...ok('Its runs', responses.attemptsBody), ...refusals(400, 404) },
  },
  {
    method: 'get',
    path: '/tasks/{taskId}/metrics',
    operationId: 'listTaskMetrics',
    tag: 'tasks',
    summary: 'List metrics samples of a task, newest first',
    pathParameters: { taskId: { schema: anyId, description: 'The task' } },
    query: openPage,
    responses: { ...ok('A page of samples', responses.taskMetricsPageBody), ...refusals(400, 404) },
  },

  // Proplets
  {
    method: 'get',
    path: '/proplets',
    operationId: 'listProplets',
    tag: 'proplets',
    summary: 'List proplets',
    query: [
      ...openPage,
      {
        name: 'status',
        description: 'active: alive now; inactive: not alive',
        schema: z.enum(['active', 'inactive']),
      },
    ],
    responses: { ...ok('A page of proplets', responses.propletListBody), ...refusals(400) },
  },
  {
    method: 'get',
    path: '/proplets/{propletId}',
    operationId: 'getProplet',
    tag: 'proplets',
    summary: 'Get a proplet',
    pathParameters: propletUuid,
    responses: { ...ok('The proplet', responses.propletBody), ...refusals(400, 404) },
  },
  {
    method: 'delete',
    path: '/proplets/{propletId}',
    operationId: 'deleteProplet',
    tag: 'proplets',
    summary: 'Forget a proplet',
    pathParameters: propletUuid,
    responses: {
      '204': { description: 'Deleted' },
      ...refusals(400, 404, [409, 'It holds tasks']),
    },
  },
  {
    method: 'get',
    path: '/proplets/{propletId}/sdf',
    operationId: 'getPropletSdf',
    tag: 'proplets',
    summary: 'Describe a proplet in the Semantic Definition Format',
    pathParameters: propletUuid,
    responses: { ...ok('Its SDF document', responses.sdfBody), ...refusals(400, 404) },
  },
  {
    method: 'get',
    path: '/proplets/{propletId}/alive-history',
    operationId: 'getPropletAliveHistory',
    tag: 'proplets',
    summary: 'List the last heartbeats of a proplet, oldest first',
    pathParameters: propletAnyId,
    query: openPage,
    responses: { ...ok('Its last 10 heartbeats', responses.aliveHistoryBody), ...refusals(400, 404) },
  },
  {
    method: 'get',
    path: '/proplets/{propletId}/metrics',
    operationId: 'listPropletMetrics',
    tag: 'proplets',
    summary: 'List metrics samples of a proplet, newest first',
    pathParameters: propletAnyId,
    query: openPage,
    responses: { ...ok('A page of samples', responses.propletMetricsPageBody), ...refusals(400, 404) },
  },

  // Workflows
  {
    method: 'post',
    path: '/workflows',
    operationId: 'createWorkflow',
    tag: 'workflows',
    summary: 'Create the tasks of a workflow',
    description:
      'Each task is validated as POST /tasks validates one; dependencies must name tasks of the same ' +
      'request, without a cycle. Nothing is created when one is refused. Start tasks with POST /tasks/{id}/start.',
    body: jsonBody(createWorkflowBody),
    responses: {
      '201': {
        description: 'Created',
        body: responses.workflowCreatedBody,
        headers: location('workflow'),
      },
      ...refusals(400, [409, 'A task with one of these ids exists already'], 413),
    },
  },
  {
    method: 'get',
    path: '/workflows/{workflowId}',
    operationId: 'getWorkflow',
    tag: 'workflows',
    summary: 'Get a workflow with its tasks',
    pathParameters: workflowId,
    responses: { ...ok('The workflow', responses.workflowBody), ...refusals(400, 404) },
  },

  // Jobs
  {
    method: 'get',
    path: '/jobs',
    operationId: 'listJobs',
    tag: 'jobs',
    summary: 'List jobs, newest first',
    query: [
      ...openPage,
      {
        name: 'status',
        description: 'Only jobs in this state',
        schema: z.enum(['pending', 'running', 'completed', 'failed']),
      },
    ],
    responses: { ...ok('A page of jobs', responses.jobListBody), ...refusals(400) },
  },
  {
    method: 'post',
    path: '/jobs',
    operationId: 'createJob',
    tag: 'jobs',
    summary: 'Create a job and its tasks',
    description: 'Validated as POST /workflows; execution_mode defaults to MANAGER_JOB_EXECUTION_MODE.',
    body: jsonBody(createJobBody),
    responses: {
      '201': { description: 'Created', body: responses.jobCreatedBody, headers: location('job') },
      ...refusals(400, [409, 'The job, or a task with one of these ids, exists already'], 413),
    },
  },
  {
    method: 'get',
    path: '/jobs/{jobId}',
    operationId: 'getJob',
    tag: 'jobs',
    summary: 'Get a job with its tasks',
    pathParameters: jobId,
    responses: { ...ok('The job', responses.jobBody), ...refusals(400, 404) },
  },
  {
    method: 'post',
    path: '/jobs/{jobId}/start',
    operationId: 'startJob',
    tag: 'jobs',
    summary: 'Start a job',
    description: 'Starts its entry tasks; the rest follow as they finish. A finished job starts again.',
    pathParameters: jobId,
    responses: {
      ...ok('Started', responses.jobActionBody),
      ...refusals(
        [400, 'A bad id, or one of its tasks cannot start (named)'],
        404,
        [409, 'Already running, or without tasks'],
        503,
      ),
    },
  },
  {
    method: 'post',
    path: '/jobs/{jobId}/stop',
    operationId: 'stopJob',
    tag: 'jobs',
    summary: 'Stop a job',
    description: 'Skips its waiting tasks, then stops the running ones.',
    pathParameters: jobId,
    responses: { ...ok('Stopped', responses.jobActionBody), ...refusals(400, 404) },
  },

  // Health and this document
  {
    method: 'get',
    path: '/health',
    operationId: 'getHealth',
    tag: 'health',
    summary: 'Health of this process and its dependencies',
    responses: {
      ...ok('Every dependency answers', responses.healthBody),
      '503': { description: 'A dependency does not answer (named in checks)', body: responses.healthBody },
    },
  },
  {
    method: 'get',
    path: '/metrics',
    operationId: 'getPrometheusMetrics',
    tag: 'monitoring',
    summary: "This process's series for Prometheus",
    description: 'The Prometheus text exposition format; the README lists every series.',
    responses: { '200': { description: 'The series', text: { mediaType: 'text/plain' } } },
  },
  {
    method: 'get',
    path: '/events',
    operationId: 'streamEvents',
    tag: 'monitoring',
    summary: 'Follow task changes as server-sent events',
    description:
      'A stream that stays open: one `task` event per change of a task (created, state, proplet, results; ' +
      'deleted), `proplet` events when a proplet comes alive or dies, and keep-alive comments. Each event ' +
      'has an id; a client that reconnects with `Last-Event-ID` (or `last_event_id`) resumes after it.',
    query: [
      {
        name: 'task_id',
        description: eventStreamQuery.shape.task_id.description ?? '',
        schema: z.string(),
      },
      {
        name: 'last_event_id',
        description: eventStreamQuery.shape.last_event_id.description ?? '',
        schema: z.string(),
      },
    ],
    responses: {
      '200': { description: 'The stream', text: { mediaType: 'text/event-stream' } },
      ...refusals([400, 'A task_id that is not a UUID, more than 100 of them, or a bad event id']),
    },
  },
  {
    method: 'get',
    path: '/dashboard/summary',
    operationId: 'getDashboardSummary',
    tag: 'monitoring',
    summary: 'How many tasks are in each state',
    description: 'What the dashboard at / shows; counted at most once a second.',
    responses: ok('Tasks by state', responses.dashboardSummaryBody),
  },
  {
    method: 'get',
    path: '/openapi.json',
    operationId: 'getOpenApiDocument',
    tag: 'documentation',
    summary: 'This OpenAPI 3.1 document',
    description: 'The interactive reference at /docs reads it.',
    responses: ok('The document', responses.openApiBody),
  },
];
