import type { Resources } from '../resources.ts';
import type { RoleHandle } from '../role.ts';
import { buildInfo } from '../observability/build-info.ts';
import { HealthService } from '../services/health-service.ts';
import { MetricsService } from '../services/metrics-service.ts';
import { InvocationService } from '../services/invocation-service.ts';
import { PropletService } from '../services/proplet-service.ts';
import { JobService } from '../services/job-service.ts';
import { WorkflowService } from '../services/workflow-service.ts';
import { createApp } from './app.ts';
import { boundPort, closeServer, listen } from './server.ts';

/** Inline Wasm travels in one MQTT message; 10 MiB matches the upstream proplet's packet limit. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

export async function startApi(resources: Resources): Promise<RoleHandle & { port: number }> {
  const { config, logger } = resources;
  const log = logger.child({ role: 'api' });
  const tasks = resources.taskService(log);
  const app = createApp({
    tasks,
    workflows: new WorkflowService(resources.groups),
    jobs: new JobService(
      resources.groups,
      resources.tasks,
      tasks,
      resources.queues,
      config.jobExecutionMode,
      log,
    ),
    invocations: new InvocationService(
      resources.tasks,
      resources.liveness,
      resources.queues,
      resources.invocationMailbox,
      config.invokeTimeoutMs,
      log,
    ),
    proplets: new PropletService(resources.proplets, resources.liveness),
    health: new HealthService({
      postgres: () => resources.postgres.pool.query('SELECT 1'),
      // Without a Redis, queues live in Postgres: its check covers them.
      ...(config.queueStore === 'redis' ? { redis: () => resources.redis.ping() } : {}),
    }),
    metrics: new MetricsService(resources.metrics, config.metrics, log, {
      tasks: resources.tasks,
      proplets: resources.proplets,
    }),
    build: buildInfo(),
    instanceId: config.mqtt.entityId,
    maxBodyBytes: MAX_BODY_BYTES,
    logger: log,
  });
  const server = await listen(app, config.http.host, config.http.port, config.httpWriteTimeoutMs);
  const port = boundPort(server);
  log.info({ host: config.http.host, port }, 'HTTP API listening');
  return { name: 'api', port, stop: () => closeServer(server) };
}
