import express, { type Express, type RequestHandler } from 'express';
import type { ApiToken } from '../config/api-tokens.ts';
import type { RateLimit } from '../config/config.ts';
import type { Logger } from '../observability/logger.ts';
import type { BuildInfo } from '../observability/build-info.ts';
import type { PrometheusExposition } from '../observability/prometheus.ts';
import type { HealthService } from '../services/health-service.ts';
import type { MetricsService } from '../services/metrics-service.ts';
import type { PropletService } from '../services/proplet-service.ts';
import type { JobService } from '../services/job-service.ts';
import type { InvocationService } from '../services/invocation-service.ts';
import type { TaskBatchService } from '../services/task-batch-service.ts';
import type { TaskService } from '../services/task-service.ts';
import type { WorkflowService } from '../services/workflow-service.ts';
import type { TaskCountService } from '../services/task-count-service.ts';
import { authentication } from './auth/authentication.ts';
import { loginRoutes } from './auth/login-routes.ts';
import { TokenVerifier } from './auth/token-verifier.ts';
import { errorHandler, notFound } from './errors.ts';
import type { EventStreams } from './event-streams.ts';
import { requestLog } from './request-log.ts';
import { dashboardRoutes } from './routes/dashboard-routes.ts';
import { eventRoutes } from './routes/event-routes.ts';
import { LOGIN_PATH } from './page-paths.ts';
import { rateLimit } from './rate-limit/rate-limit.ts';
import { requestMetrics } from './request-metrics.ts';
import { securityHeaders, withPagePolicy } from './security-headers.ts';
import { trackRoute } from './route-pattern.ts';
import { docsRoutes } from './routes/docs-routes.ts';
import { healthRoutes } from './routes/health-routes.ts';
import { metricsRoutes } from './routes/metrics-routes.ts';
import { prometheusRoutes } from './routes/prometheus-routes.ts';
import { propletRoutes } from './routes/proplet-routes.ts';
import { jobRoutes } from './routes/job-routes.ts';
import { taskRoutes } from './routes/task-routes.ts';
import { workflowRoutes } from './routes/workflow-routes.ts';

export interface AppDependencies {
  tasks: TaskService;
  /** POST /tasks/batch. */
  taskBatches: TaskBatchService;
  workflows: WorkflowService;
  jobs: JobService;
  /** POST /tasks/{id}/invoke; without it the route is not served. */
  invocations?: InvocationService;
  proplets: PropletService;
  /** GET /events; without it the route is not served. */
  events?: EventStreams;
  /** The dashboard at `/`; without it `/` is a 404 as any unknown path. */
  taskCounts?: TaskCountService;
  health: HealthService;
  metrics: MetricsService;
  /** GET /metrics for Prometheus; without it the route is not served. */
  prometheus?: PrometheusExposition;
  build: BuildInfo;
  /** Reported as `instance_id` by /health, as upstream does with its entity id. */
  instanceId: string;
  maxBodyBytes: number;
  /** Bull Board (src/http/bull-board.ts), where it is served and the content policy its page needs. */
  queueBoard?: { path: string; handler: RequestHandler; contentSecurityPolicy: string };
  /** The tokens accepted; none (or undefined): no authentication and no login page, as upstream. */
  tokens?: readonly ApiToken[];
  /** Changes per client; undefined: no limit. */
  rateLimit?: RateLimit;
  logger: Logger;
}

/** The HTTP API (spec §1), without listening: tests and the api role mount it as they need. */
export function createApp(deps: AppDependencies): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(trackRoute, requestLog(deps.logger), requestMetrics, securityHeaders());
  const limit = deps.rateLimit && rateLimit(deps.rateLimit);
  // Load balancers and orchestrators probe it without credentials; it tells nothing worth protecting.
  app.use('/health', healthRoutes(deps.health, deps.build, deps.instanceId));
  const verifier = deps.tokens && deps.tokens.length > 0 ? new TokenVerifier(deps.tokens) : undefined;
  if (verifier) {
    // Before authentication, where logins are counted by address: it limits guessing too.
    if (limit) app.use(LOGIN_PATH, limit);
    app.use(loginRoutes(verifier, deps.logger));
    app.use(authentication(verifier));
  }
  if (limit) app.use(limit);
  app.use('/tasks', taskRoutes(deps.tasks, deps.maxBodyBytes, deps.invocations, deps.taskBatches));
  app.use('/workflows', workflowRoutes(deps.workflows, deps.maxBodyBytes));
  app.use('/jobs', jobRoutes(deps.jobs, deps.maxBodyBytes));
  app.use('/proplets', propletRoutes(deps.proplets));
  // Mounted at the root: the metrics of tasks and of proplets are one concern, under both resources.
  app.use(metricsRoutes(deps.metrics));
  if (deps.events) app.use('/events', eventRoutes(deps.events));
  if (deps.taskCounts) app.use(dashboardRoutes(deps.taskCounts, { login: verifier !== undefined }));
  if (deps.prometheus) app.use(prometheusRoutes(deps.prometheus));
  // GET /openapi.json and its reference page at /docs.
  app.use(docsRoutes(deps.build.version));
  if (deps.queueBoard)
    app.use(
      deps.queueBoard.path,
      withPagePolicy(deps.queueBoard.contentSecurityPolicy),
      deps.queueBoard.handler,
    );
  app.use(notFound);
  app.use(errorHandler(deps.logger));
  return app;
}
