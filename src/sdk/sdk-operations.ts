/**
 * The SDK method that calls each operation of the HTTP API, by its operationId in
 * src/http/openapi/operations.ts. test/integration/sdk.test.ts compares the two lists and checks that every
 * method named here exists, so an operation added to the API without an SDK method fails a test.
 */
export const SDK_OPERATIONS = {
  listTasks: 'tasks.list',
  createTask: 'tasks.create',
  createTaskBatch: 'tasks.createBatch',
  getTask: 'tasks.get',
  updateTask: 'tasks.update',
  deleteTask: 'tasks.delete',
  uploadTaskFile: 'tasks.upload',
  startTask: 'tasks.start',
  stopTask: 'tasks.stop',
  invokeTask: 'tasks.invoke',
  getTaskResults: 'tasks.results',
  listTaskAttempts: 'tasks.attempts',
  listTaskMetrics: 'tasks.metrics',
  listProplets: 'proplets.list',
  getProplet: 'proplets.get',
  deleteProplet: 'proplets.delete',
  getPropletSdf: 'proplets.sdf',
  getPropletAliveHistory: 'proplets.aliveHistory',
  listPropletMetrics: 'proplets.metrics',
  createWorkflow: 'workflows.create',
  getWorkflow: 'workflows.get',
  listJobs: 'jobs.list',
  createJob: 'jobs.create',
  getJob: 'jobs.get',
  startJob: 'jobs.start',
  stopJob: 'jobs.stop',
  getHealth: 'health',
  getPrometheusMetrics: 'prometheusMetrics',
  streamEvents: 'events',
  getDashboardSummary: 'dashboardSummary',
  getOpenApiDocument: 'openApiDocument',
} as const;

export type SdkOperationId = keyof typeof SDK_OPERATIONS;
