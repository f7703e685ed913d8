import type { z } from 'zod';
import { createJobBody, createWorkflowBody } from '../schemas/group-input.ts';
import { invokeBody } from '../schemas/invoke-input.ts';
import * as responses from '../schemas/response-schemas.ts';
import { createTaskBody, updateTaskBody } from '../schemas/task-input.ts';
import { SESSION_COOKIE } from '../auth/credentials.ts';
import { componentRef, toJsonSchema, type JsonSchema } from './json-schema.ts';
import { OPERATIONS, TAGS, type OperationSpec, type ParameterSpec, type ResponseSpec } from './operations.ts';

/** Schemas shown once under components and referred to everywhere else; requests are read as input. */
const REQUEST_COMPONENTS: ReadonlyArray<[z.ZodType, string]> = [
  [createTaskBody, 'NewTask'],
  [updateTaskBody, 'TaskUpdate'],
  [invokeBody, 'Invocation'],
  [createWorkflowBody.shape.tasks.element, 'GroupTask'],
  [createWorkflowBody, 'NewWorkflow'],
  [createJobBody, 'NewJob'],
];

const RESPONSE_COMPONENTS: ReadonlyArray<[z.ZodType, string]> = [
  [responses.errorBody, 'Error'],
  [responses.taskBody, 'Task'],
  [responses.taskListBody, 'TaskList'],
  [responses.taskResultsBody, 'TaskResults'],
  [responses.attemptsBody, 'TaskAttempts'],
  [responses.startedBody, 'Started'],
  [responses.stoppedBody, 'Stopped'],
  [responses.invokedBody, 'Invoked'],
  [responses.taskMetricsPageBody, 'TaskMetricsPage'],
  [responses.propletBody, 'Proplet'],
  [responses.propletListBody, 'PropletList'],
  [responses.aliveHistoryBody, 'AliveHistory'],
  [responses.propletMetricsPageBody, 'PropletMetricsPage'],
  [responses.sdfBody, 'SdfDocument'],
  [responses.workflowBody, 'Workflow'],
  [responses.workflowCreatedBody, 'WorkflowCreated'],
  [responses.jobBody, 'Job'],
  [responses.jobListBody, 'JobList'],
  [responses.jobCreatedBody, 'JobCreated'],
  [responses.jobActionBody, 'JobAction'],
  [responses.healthBody, 'Health'],
];

const NAMES = new Map<z.ZodType, string>([...REQUEST_COMPONENTS, ...RESPONSE_COMPONENTS]);

function schemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const name = NAMES.get(schema);
  return name === undefined ? toJsonSchema(schema, io, NAMES) : { $ref: componentRef(name) };
}

const DESCRIPTION = `The REST API of the Propeller manager, which runs WebAssembly tasks on edge workers (proplets).

Bodies are JSON (\`Content-Type: application/json\`). Task states are numbers: 0 Pending, 1 Scheduled,
2 Running, 3 Completed, 4 Failed, 5 Skipped, 6 Interrupted. Times are RFC 3339; Go's zero time
(0001-01-01T00:00:00Z) stands for one not set. Every error answers \`{"error": "..."}\`; a method a path
does not serve is 405, an unknown path 404.

When the manager has API tokens configured (MANAGER_API_TOKENS), every operation but GET /health needs one,
as \`Authorization: Bearer <token>\` or the login cookie of a browser (POST /login): 401 without a valid
token, 403 when its role (viewer, operator, admin) may not; changes may be rate-limited (429). Without
tokens configured, no operation needs one.`;

/** How a request presents a token; see DESCRIPTION. */
const SECURITY_SCHEMES = {
  bearerToken: {
    type: 'http',
    scheme: 'bearer',
    description:
      'An API token (MANAGER_API_TOKENS): viewer tokens read, operator tokens also change, admin tokens do all',
  },
  loginCookie: {
    type: 'apiKey',
    in: 'cookie',
    name: SESSION_COOKIE,
    description: 'Set by the login form at /login, for browsers',
  },
};
const SECURITY = [{ bearerToken: [] }, { loginCookie: [] }];

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: componentRef('Error') } } },
});

/** What authentication adds to an operation's answers when tokens are configured. */
function authenticationRefusals(spec: OperationSpec): Record<string, JsonSchema> {
  return {
    '401': errorResponse('No token, or not a valid one (with tokens configured)'),
    '403': errorResponse(
      "The token's role may not do this, or a change with the login cookie came from another site",
    ),
    ...(spec.method === 'get'
      ? {}
      : { '429': errorResponse('Beyond MANAGER_RATE_LIMIT; Retry-After says when to retry') }),
  };
}

/** /health answers load balancers and orchestrators, which hold no token. */
const OPEN_PATHS = new Set(['/health']);

function parameter(location: 'path' | 'query', spec: ParameterSpec, required: boolean): JsonSchema {
  const schema = toJsonSchema(spec.schema, 'input', NAMES);
  return {
    name: spec.name,
    in: location,
    description: spec.description,
    required,
    ...(spec.json ? { content: { 'application/json': { schema } } } : { schema }),
  };
}

function response(spec: ResponseSpec): JsonSchema {
  return {
    description: spec.description,
    ...(spec.headers ? { headers: spec.headers } : {}),
    ...(spec.body ? { content: { 'application/json': { schema: schemaOf(spec.body, 'output') } } } : {}),
    ...(spec.text ? { content: { [spec.text.mediaType]: { schema: { type: 'string' } } } } : {}),
  };
}

function requestBody(body: NonNullable<OperationSpec['body']>): JsonSchema {
  if (body.kind === 'multipart')
    return {
      description: body.description,
      required: true,
      content: { 'multipart/form-data': { schema: body.schema } },
    };
  return {
    ...(body.description ? { description: body.description } : {}),
    required: body.required,
    content: { 'application/json': { schema: schemaOf(body.schema, 'input') } },
  };
}

function operation(spec: OperationSpec): JsonSchema {
  const pathParameters = Object.entries(spec.pathParameters ?? {}).map(([name, param]) =>
    parameter('path', { name, ...param }, true),
  );
  const parameters = [...pathParameters, ...(spec.query ?? []).map((q) => parameter('query', q, false))];
  return {
    operationId: spec.operationId,
    tags: [spec.tag],
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(spec.body ? { requestBody: requestBody(spec.body) } : {}),
    ...(OPEN_PATHS.has(spec.path) ? { security: [] } : {}),
    responses: {
      ...Object.fromEntries(Object.entries(spec.responses).map(([status, r]) => [status, response(r)])),
      ...(OPEN_PATHS.has(spec.path) ? {} : authenticationRefusals(spec)),
      default: errorResponse('Any other failure: 500 "internal error"'),
    },
  };
}

function build(version: string): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const spec of OPERATIONS) (paths[spec.path] ??= {})[spec.method] = operation(spec);
  const components: Record<string, JsonSchema> = {};
  for (const [schema, name] of REQUEST_COMPONENTS) components[name] = toJsonSchema(schema, 'input', NAMES);
  for (const [schema, name] of RESPONSE_COMPONENTS) components[name] = toJsonSchema(schema, 'output', NAMES);
  return {
    openapi: '3.1.1',
    info: {
      title: 'Propeller Manager API',
      version,
      description: DESCRIPTION,
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
    paths,
    security: SECURITY,
    components: { schemas: components, securitySchemes: SECURITY_SCHEMES },
  };
}

const built = new Map<string, JsonSchema>();

/** The OpenAPI 3.1 document of the API; built once per process, as nothing in it changes at run time. */
export function openApiDocument(version: string): JsonSchema {
  let document = built.get(version);
  if (!document) {
    document = build(version);
    built.set(version, document);
  }
  return document;
}
