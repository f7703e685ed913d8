/**
 * Upstream Propeller names its API metrics after service operations (`create-task`), not paths. These are
 * its names for the routes both serve; routes upstream lacks get a name in the same style. Requests no
 * route matched are not counted, as upstream counts only calls that reach its service.
 */
const OPERATIONS: Readonly<Record<string, string>> = {
  'GET /proplets': 'list-proplets',
  'GET /proplets/:propletId': 'get-proplet',
  'DELETE /proplets/:propletId': 'delete-proplet',
  'GET /proplets/:propletId/sdf': 'get-proplet-sdf',
  'GET /proplets/:propletId/alive-history': 'get-proplet-alive-history',
  'GET /proplets/:propletId/metrics': 'get-proplet-metrics',
  'POST /tasks': 'create-task',
  'GET /tasks': 'list-tasks',
  'GET /tasks/:taskId': 'get-task',
  'PUT /tasks/:taskId': 'update-task',
  'PUT /tasks/:taskId/upload': 'update-task',
  'DELETE /tasks/:taskId': 'delete-task',
  'POST /tasks/:taskId/start': 'start-task',
  'POST /tasks/:taskId/stop': 'stop-task',
  'POST /tasks/:taskId/invoke': 'invoke-task',
  'GET /tasks/:taskId/metrics': 'get-task-metrics',
  'GET /tasks/:taskId/results': 'get-task-results',
  'GET /tasks/:taskId/attempts': 'get-task-attempts',
  'POST /workflows': 'create-workflow',
  'GET /workflows/:workflowId': 'get-workflow',
  'POST /jobs': 'create-job',
  'GET /jobs': 'list-jobs',
  'GET /jobs/:jobId': 'get-job',
  'POST /jobs/:jobId/start': 'start-job',
  'POST /jobs/:jobId/stop': 'stop-job',
};

export function upstreamOperation(method: string, route: string): string | undefined {
  return OPERATIONS[`${method} ${route}`];
}
