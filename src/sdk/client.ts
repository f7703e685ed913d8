import type { TaskState } from '../domain/task-state.ts';
import { followEvents, type EventStreamOptions } from './events.ts';
import { Transport, type TransportOptions } from './transport.ts';
import type * as T from './types.ts';
import { waitFor, type WaitForOptions } from './wait-for.ts';

export type PropellerClientOptions = TransportOptions;

/** Per call: abort it (the per-request timeout applies as well). */
export interface CallOptions {
  signal?: AbortSignal;
}

/** A Wasm module to upload: its bytes, and a file name ending in .wasm (the server checks both). */
export interface WasmFile {
  bytes: Uint8Array | Blob;
  filename?: string;
}

const id = (value: string) => encodeURIComponent(value);

/**
 * A typed client for every operation of the manager's HTTP API (src/http/openapi/operations.ts), grouped
 * by resource as the OpenAPI tags group them: `client.tasks.create(…)`, `client.proplets.list()`, … The
 * operation each method calls is listed in sdk-operations.ts. Failures throw PropellerError (the server
 * refused) or PropellerConnectionError (no answer).
 */
export class PropellerClient {
  readonly transport: Transport;

  constructor(options: PropellerClientOptions = {}) {
    this.transport = new Transport(options);
  }

  get baseUrl(): string {
    return this.transport.baseUrl;
  }

  readonly tasks = {
    list: (query: T.TaskListQuery = {}, options: CallOptions = {}) =>
      this.transport.json<T.TaskList>('GET', '/tasks', {
        ...options,
        query: {
          offset: query.offset,
          limit: query.limit,
          metadata: query.metadata === undefined ? undefined : JSON.stringify(query.metadata),
        },
      }),
    create: (task: T.CreateTaskInput, options: CallOptions = {}) =>
      this.transport.json<T.Task>('POST', '/tasks', { ...options, json: task }),
    createBatch: (batch: T.CreateTaskBatchInput, options: CallOptions = {}) =>
      this.transport.json<T.TaskBatch>('POST', '/tasks/batch', { ...options, json: batch }),
    get: (taskId: string, options: CallOptions = {}) =>
      this.transport.json<T.Task>('GET', `/tasks/${id(taskId)}`, options),
    update: (taskId: string, changes: T.UpdateTaskInput, options: CallOptions = {}) =>
      this.transport.json<T.Task>('PUT', `/tasks/${id(taskId)}`, { ...options, json: changes }),
    delete: (taskId: string, options: CallOptions = {}) =>
      this.transport.json<void>('DELETE', `/tasks/${id(taskId)}`, options),
    /** Sets the task's Wasm module from a file, as `propeller-cli` uploads one (multipart, part `file`). */
    upload: (taskId: string, file: WasmFile, options: CallOptions = {}) => {
      const form = new FormData();
      const blob = file.bytes instanceof Blob ? file.bytes : new Blob([file.bytes]);
      form.append('file', blob, file.filename ?? 'module.wasm');
      return this.transport.json<T.Task>('PUT', `/tasks/${id(taskId)}/upload`, { ...options, form });
    },
    start: (taskId: string, options: CallOptions = {}) =>
      this.transport.json<T.Started>('POST', `/tasks/${id(taskId)}/start`, options),
    stop: (taskId: string, options: CallOptions = {}) =>
      this.transport.json<T.Stopped>('POST', `/tasks/${id(taskId)}/stop`, options),
    /** Runs a deployed latent task; the server waits up to MANAGER_INVOKE_TIMEOUT for the proplet. */
    invoke: (taskId: string, input?: T.InvokeInput, options: CallOptions = {}) =>
      this.transport.json<T.Invoked>('POST', `/tasks/${id(taskId)}/invoke`, {
        ...options,
        ...(input === undefined ? {} : { json: input }),
      }),
    results: (taskId: string, options: CallOptions = {}) =>
      this.transport.json<T.TaskResults>('GET', `/tasks/${id(taskId)}/results`, options),
    attempts: (taskId: string, options: CallOptions = {}) =>
      this.transport.json<T.TaskAttempts>('GET', `/tasks/${id(taskId)}/attempts`, options),
    metrics: (taskId: string, query: T.PageQuery = {}, options: CallOptions = {}) =>
      this.transport.json<T.TaskMetricsPage>('GET', `/tasks/${id(taskId)}/metrics`, {
        ...options,
        query: { offset: query.offset, limit: query.limit },
      }),
    /** Resolves with the task once its state is one of `states` (see wait-for.ts). */
    waitFor: (taskId: string, states: readonly TaskState[], options: WaitForOptions = {}) =>
      waitFor(
        {
          getTask: (task, call) => this.tasks.get(task, call),
          events: (stream) => this.events(stream),
        },
        taskId,
        states,
        options,
      ),
  };

  readonly proplets = {
    list: (query: T.PropletListQuery = {}, options: CallOptions = {}) =>
      this.transport.json<T.PropletList>('GET', '/proplets', {
        ...options,
        query: { offset: query.offset, limit: query.limit, status: query.status },
      }),
    get: (propletId: string, options: CallOptions = {}) =>
      this.transport.json<T.Proplet>('GET', `/proplets/${id(propletId)}`, options),
    delete: (propletId: string, options: CallOptions = {}) =>
      this.transport.json<void>('DELETE', `/proplets/${id(propletId)}`, options),
    sdf: (propletId: string, options: CallOptions = {}) =>
      this.transport.json<T.PropletSdf>('GET', `/proplets/${id(propletId)}/sdf`, options),
    aliveHistory: (propletId: string, query: T.PageQuery = {}, options: CallOptions = {}) =>
      this.transport.json<T.AliveHistory>('GET', `/proplets/${id(propletId)}/alive-history`, {
        ...options,
        query: { offset: query.offset, limit: query.limit },
      }),
    metrics: (propletId: string, query: T.PageQuery = {}, options: CallOptions = {}) =>
      this.transport.json<T.PropletMetricsPage>('GET', `/proplets/${id(propletId)}/metrics`, {
        ...options,
        query: { offset: query.offset, limit: query.limit },
      }),
  };

  readonly workflows = {
    create: (workflow: T.CreateWorkflowInput, options: CallOptions = {}) =>
      this.transport.json<T.WorkflowCreated>('POST', '/workflows', { ...options, json: workflow }),
    get: (workflowId: string, options: CallOptions = {}) =>
      this.transport.json<T.Workflow>('GET', `/workflows/${id(workflowId)}`, options),
  };

  readonly jobs = {
    list: (query: T.JobListQuery = {}, options: CallOptions = {}) =>
      this.transport.json<T.JobList>('GET', '/jobs', {
        ...options,
        query: { offset: query.offset, limit: query.limit, status: query.status },
      }),
    create: (job: T.CreateJobInput, options: CallOptions = {}) =>
      this.transport.json<T.JobCreated>('POST', '/jobs', { ...options, json: job }),
    get: (jobId: string, options: CallOptions = {}) =>
      this.transport.json<T.Job>('GET', `/jobs/${id(jobId)}`, options),
    start: (jobId: string, options: CallOptions = {}) =>
      this.transport.json<T.JobAction>('POST', `/jobs/${id(jobId)}/start`, options),
    stop: (jobId: string, options: CallOptions = {}) =>
      this.transport.json<T.JobAction>('POST', `/jobs/${id(jobId)}/stop`, options),
  };

  /** The health document, also when a dependency fails (503, `status: "fail"`): that is an answer too. */
  health(options: CallOptions = {}): Promise<T.Health> {
    return this.transport.json<T.Health>('GET', '/health', { ...options, accept: [503] });
  }

  /** This api process's Prometheus series, as text. */
  prometheusMetrics(options: CallOptions = {}): Promise<string> {
    return this.transport.text('GET', '/metrics', { ...options, headers: { accept: 'text/plain' } });
  }

  dashboardSummary(options: CallOptions = {}): Promise<T.DashboardSummary> {
    return this.transport.json<T.DashboardSummary>('GET', '/dashboard/summary', options);
  }

  openApiDocument(options: CallOptions = {}): Promise<T.OpenApiDocument> {
    return this.transport.json<T.OpenApiDocument>('GET', '/openapi.json', options);
  }

  /** GET /events as an async iterator (see events.ts); break out of the loop to close it. */
  events(options: EventStreamOptions = {}): AsyncGenerator<T.ManagerEvent, void, undefined> {
    return followEvents(this.transport, options);
  }
}
