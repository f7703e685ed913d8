import type { z } from 'zod';
import type { createJobBody } from '../http/schemas/group-input.ts';
import type { invokeBody } from '../http/schemas/invoke-input.ts';
import type * as responses from '../http/schemas/response-schemas.ts';
import type { createTaskBody, updateTaskBody } from '../http/schemas/task-input.ts';
import type { TaskState } from '../domain/task-state.ts';

/**
 * Request and response types, read off the zod schemas the server validates and documents with, so the SDK
 * cannot drift from the API. Type-only imports: the SDK loads none of the server's code at run time.
 *
 * createTaskBody and updateTaskBody first check the raw JSON's shape (an `unknown` input), then pipe into the
 * object schema: its input (`.out`) is what a client writes.
 */
export type CreateTaskInput = z.input<typeof createTaskBody.out>;
export type UpdateTaskInput = z.input<typeof updateTaskBody.out>;
export type InvokeInput = z.input<typeof invokeBody>;

/**
 * The batch and group bodies parse each task by hand (to name a bad one by its place), which hides their
 * element type from zod; they are built here from the task's input type, as task-batch-input.ts and
 * group-input.ts build theirs from createTaskBody.
 */
export interface CreateTaskBatchInput {
  tasks: CreateTaskInput[];
  /** Start every task once created (default false). */
  start?: boolean | null;
}

/** A task of a workflow or job: a task as POST /tasks takes it, with the id it is to get (so others can depend on it). */
export type GroupTaskInput = CreateTaskInput & { id?: string | null };
export interface CreateWorkflowInput {
  tasks: GroupTaskInput[];
}
export type CreateJobInput = Omit<z.input<typeof createJobBody>, 'tasks'> & { tasks: GroupTaskInput[] };

export type Task = z.infer<typeof responses.taskBody>;
export type TaskList = z.infer<typeof responses.taskListBody>;
export type TaskBatch = z.infer<typeof responses.taskBatchBody>;
export type TaskResults = z.infer<typeof responses.taskResultsBody>;
export type Started = z.infer<typeof responses.startedBody>;
export type Stopped = z.infer<typeof responses.stoppedBody>;
export type Invoked = z.infer<typeof responses.invokedBody>;
export type TaskAttempts = z.infer<typeof responses.attemptsBody>;
export type TaskMetricsPage = z.infer<typeof responses.taskMetricsPageBody>;
export type Proplet = z.infer<typeof responses.propletBody>;
export type PropletList = z.infer<typeof responses.propletListBody>;
export type PropletMetricsPage = z.infer<typeof responses.propletMetricsPageBody>;
export type AliveHistory = z.infer<typeof responses.aliveHistoryBody>;
export type PropletSdf = z.infer<typeof responses.sdfBody>;
export type Workflow = z.infer<typeof responses.workflowBody>;
export type WorkflowCreated = z.infer<typeof responses.workflowCreatedBody>;
export type Job = z.infer<typeof responses.jobBody>;
export type JobList = z.infer<typeof responses.jobListBody>;
export type JobCreated = z.infer<typeof responses.jobCreatedBody>;
export type JobAction = z.infer<typeof responses.jobActionBody>;
export type Health = z.infer<typeof responses.healthBody>;
export type DashboardSummary = z.infer<typeof responses.dashboardSummaryBody>;
export type OpenApiDocument = z.infer<typeof responses.openApiBody>;
export type ErrorBody = z.infer<typeof responses.errorBody>;

/** offset and limit of a list; the server's defaults apply to what is left out. */
export interface PageQuery {
  offset?: number;
  limit?: number;
}
export interface TaskListQuery extends PageQuery {
  /** Only tasks whose metadata contains this object. */
  metadata?: Record<string, unknown>;
}
export interface PropletListQuery extends PageQuery {
  status?: 'active' | 'inactive';
}
export interface JobListQuery extends PageQuery {
  status?: 'pending' | 'running' | 'completed' | 'failed';
}

/**
 * The data of a `task` event on GET /events, as src/http/schemas/event-view.ts writes it (the stream has no
 * zod schema: it is text/event-stream, not a JSON response).
 */
export interface TaskEventData {
  kind: 'created' | 'changed' | 'deleted' | 'snapshot';
  task_id: string;
  name: string;
  state: TaskState;
  state_name: string;
  previous_state: TaskState | null;
  previous_state_name: string | null;
  proplet_id: string | null;
  attempt: number;
  error: string | null;
  time: string;
}

/** The data of a `proplet` event: a proplet came alive or was found dead. */
export interface PropletEventData {
  proplet_id: string;
  alive: boolean;
  time: string;
}

export type ManagerEvent =
  | { event: 'task'; id?: string; data: TaskEventData }
  | { event: 'proplet'; id?: string; data: PropletEventData };
