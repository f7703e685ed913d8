import { randomUUID } from 'node:crypto';
import { TaskBatchRepository } from '../db/task-batch-repository.ts';
import { TaskCountRepository } from '../db/task-count-repository.ts';
import { TaskEventLog } from '../db/task-event-log.ts';
import type { Resources } from '../resources.ts';
import type { RoleHandle } from '../role.ts';
import { buildInfo } from '../observability/build-info.ts';
import { prometheusExposition } from '../observability/prometheus.ts';
import { HealthService } from '../services/health-service.ts';
import { MetricsService } from '../services/metrics-service.ts';
import { InvocationService } from '../services/invocation-service.ts';
import { PropletService } from '../services/proplet-service.ts';
import { JobService } from '../services/job-service.ts';
import { WorkflowService } from '../services/workflow-service.ts';
import { PropletAliveFeed } from '../services/proplet-alive-feed.ts';
import { TaskBatchService } from '../services/task-batch-service.ts';
import { TaskCountService } from '../services/task-count-service.ts';
import { TaskEventFeed } from '../services/task-event-feed.ts';
import type { Express } from 'express';
import type { Logger } from '../observability/logger.ts';
import { createApp } from './app.ts';
import { EventStreams } from './event-streams.ts';
import { boundPort, closeServer, listen } from './server.ts';
import { warnIfUnauthenticated } from './auth/unauthenticated-warning.ts';

/** Within HealthService's own limit, so a broker that is reconnecting right now can still pass. */
const BROKER_CHECK_MS = 1_500;

/**
 * GET /events. Task changes are read from their log every 100 ms while someone follows them (one query
 * per api process, however many clients); alive proplets are compared every 2 s. Recording goes on for
 * 30 s after the last client left, so that one reconnecting resumes where it was.
 */
const EVENTS = {
  taskPollMs: 100,
  leaseMs: 20_000,
  idleMs: 30_000,
  propletPollMs: 2_000,
  /** About a thousand events: a client further behind is disconnected, and resumes when it reconnects. */
  maxBufferedBytes: 256 * 1024,
  maxPendingEvents: 10_000,
  maxReplayEvents: 10_000,
  retryMs: 2_000,
};

/** The api role's Express app over the process's resources, without listening; close() after use. */
export async function createApiApp(
  resources: Resources,
  log: Logger,
): Promise<{ app: Express; close: () => Promise<void> }> {
  const { config } = resources;
  // Requests fail fast while Redis is away rather than wait for it as workers do (see forRequests).
  const scope = resources.forRequests();
  const tasks = scope.taskService(log);
  const events = new EventStreams(
    new TaskEventFeed(new TaskEventLog(scope.postgres.db), {
      watcherId: `${config.instanceId}:${randomUUID()}`,
      pollMs: EVENTS.taskPollMs,
      leaseMs: EVENTS.leaseMs,
      retentionMs: config.events.retentionMs,
      idleMs: EVENTS.idleMs,
      logger: log,
    }),
    new PropletAliveFeed(scope.liveness, { pollMs: EVENTS.propletPollMs, logger: log }),
    { ...EVENTS, heartbeatMs: config.events.heartbeatMs, logger: log },
  );
  const build = buildInfo();
  const taskCounts = new TaskCountRepository(scope.postgres.db);
  // The state of the whole deployment is exported where the API runs (see prometheus-state.ts).
  const prometheus = prometheusExposition(
    { version: build.version, roles: [...config.roles] },
    {
      sources: {
        queueDepth: () => scope.queues.depth(),
        tasksByState: () => taskCounts.byState(),
        propletsAlive: async () => (await scope.liveness.aliveIds()).length,
      },
    },
  );
  // Loaded here, not at the top: processes without the api role need not load Bull Board at all.
  const { bullBoard } = await import('./bull-board.ts');
  const board = bullBoard(resources.queueConnection, { readOnly: config.bullBoardReadOnly, logger: log });
  const app = createApp({
    tasks,
    taskBatches: new TaskBatchService(
      new TaskBatchRepository(scope.postgres.db),
      scope.queues,
      scope.startMessageLimit,
      log,
    ),
    workflows: new WorkflowService(scope.groups, scope.startMessageLimit),
    jobs: new JobService(
      scope.groups,
      scope.tasks,
      tasks,
      scope.queues,
      config.jobExecutionMode,
      log,
      scope.startMessageLimit,
    ),
    invocations: new InvocationService(
      scope.tasks,
      scope.liveness,
      scope.queues,
      scope.invocationMailbox,
      config.invokeTimeoutMs,
      log,
    ),
    proplets: new PropletService(scope.proplets, scope.liveness),
    events,
    taskCounts: new TaskCountService(taskCounts),
    health: new HealthService({
      postgres: () => scope.postgres.pool.query('SELECT 1'),
      // Without a Redis, queues live in Postgres: its check covers them.
      ...(config.queueStore === 'redis' ? { redis: () => scope.redis.ping() } : {}),
      // The api itself never touches the broker; a scheduler in this process publishes through it.
      ...(config.roles.has('scheduler') ? { mqtt: () => resources.publisherConnected(BROKER_CHECK_MS) } : {}),
    }),
    metrics: new MetricsService(scope.metrics, config.metrics, log, {
      tasks: scope.tasks,
      proplets: scope.proplets,
    }),
    prometheus,
    build,
    instanceId: config.mqtt.entityId,
    maxBodyBytes: config.httpMaxBodyBytes,
    queueBoard: board,
    tokens: config.auth.tokens,
    rateLimit: config.rateLimit,
    logger: log,
  });
  return {
    app,
    close: async () => {
      await events.close();
      await board.close();
    },
  };
}

export async function startApi(resources: Resources): Promise<RoleHandle & { port: number }> {
  const { config, logger } = resources;
  const log = logger.child({ role: 'api' });
  const { app, close } = await createApiApp(resources, log);
  const server = await listen(app, config.http.host, config.http.port, {
    writeTimeoutMs: config.httpWriteTimeoutMs,
    tls: config.http.tls,
  });
  const port = boundPort(server);
  log.info({ host: config.http.host, port, https: config.http.tls !== undefined }, 'HTTP API listening');
  warnIfUnauthenticated(config, log, 'HTTP API', port);
  return {
    name: 'api',
    port,
    stop: async () => {
      // Streams never end by themselves: the server would wait for them.
      await close();
      await closeServer(server);
    },
  };
}
