import { setTimeout as sleep } from 'node:timers/promises';
import { startIngress } from '../workers/ingress.ts';
import { startLiveness } from '../workers/liveness.ts';
import { startResults } from '../workers/results.ts';
import { startScheduler } from '../workers/scheduler.ts';
import type { Config, Role } from './config/config.ts';
import { migrateDatabase } from './db/migrate.ts';
import { isSharedSessionServer } from './db/postgres-kind.ts';
import { startStandIns, usesPostgres, type StandIns } from './embedded/stand-ins.ts';
import { startApi } from './http/api-role.ts';
import type { Logger } from './observability/logger.ts';
import { serveProcessMetrics, type PrometheusServer } from './observability/prometheus-server.ts';
import { tracingHooks } from './observability/tracing-hooks.ts';
import { startEmbeddedProplets } from './proplet/embedded-proplets.ts';
import type { Proplet } from './proplet/proplet.ts';
import { checkBrokerLogin } from './mqtt/client.ts';
import { checkRedisLogin } from './redis/connection.ts';
import { Resources } from './resources.ts';
import type { RoleHandle } from './role.ts';

/** How long start-up waits for Redis or the broker to say whether it takes the login; beyond that, retries. */
const LOGIN_CHECK_MS = 5_000;
/** Consumers start before producers of work, so nothing queued at start-up waits for a worker. */
const START_ORDER: readonly Role[] = ['liveness', 'results', 'scheduler', 'ingress', 'api'];
/** Intake closes first, then the workers finish their active jobs. */
const STOP_ORDER: readonly Role[] = ['api', 'ingress', 'scheduler', 'results', 'liveness'];

const STARTERS: Record<Role, (resources: Resources) => Promise<RoleHandle & { port?: number }> | RoleHandle> =
  {
    api: startApi,
    scheduler: startScheduler,
    ingress: startIngress,
    results: startResults,
    liveness: startLiveness,
  };

export interface RunningManager {
  /** The configuration in effect, with the addresses of any stand-ins. */
  readonly config: Config;
  /** What serves Postgres, the queues and the broker: configured services or embedded stand-ins. */
  readonly inUse: StandIns['inUse'];
  readonly embeddedProplets: number;
  readonly roles: Role[];
  /** The port the API listens on, when this process runs the api role. */
  readonly apiPort?: number;
  /** The port of /metrics, when this process runs no api role (which serves it) and it is not off. */
  readonly metricsPort?: number;
  readonly resources: Resources;
  /** Stops one role and leaves the others running (used to show that a restart loses nothing). */
  stopRole(role: Role): Promise<void>;
  startRole(role: Role): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts stand-ins for what the environment did not name, then the roles the configuration names, in one
 * process, after migrating the database if they use it.
 */
export async function startManager(configured: Config, logger: Logger): Promise<RunningManager> {
  if (configured.mqtt.tls?.rejectUnauthorized === false)
    logger.warn(
      "MANAGER_MQTT_TLS_INSECURE_SKIP_VERIFY is true: the broker's certificate is not checked, so whoever sits between the manager and the broker can read and change the traffic, and learn the manager's password",
    );
  const standIns = await startStandIns(configured, logger);
  let config = standIns.config;
  try {
    // A login or certificate refused now would be refused for good: end start-up saying so. Side by side,
    // and before any role, so that the roles start as close together as they did.
    await Promise.all([
      config.queueStore === 'redis' && !config.standIns.redis
        ? checkRedisLogin(config.redis, LOGIN_CHECK_MS)
        : undefined,
      config.roles.has('scheduler') || config.roles.has('ingress')
        ? checkBrokerLogin({ ...config.mqtt, instanceId: config.instanceId }, LOGIN_CHECK_MS)
        : undefined,
    ]);
    if (
      usesPostgres(config) &&
      !config.postgres.sharedSession &&
      (await isSharedSessionServer(config.postgres))
    )
      config = { ...config, postgres: { ...config.postgres, sharedSession: true } };
  } catch (error) {
    await standIns.close();
    throw error;
  }
  const resources = new Resources(config, logger, tracingHooks());
  const running = new Map<Role, RoleHandle>();
  let apiPort: number | undefined;

  const startRole = async (role: Role) => {
    if (running.has(role)) return;
    const handle = await STARTERS[role](resources);
    if ('port' in handle) apiPort = handle.port;
    running.set(role, handle);
  };
  const stopRole = async (role: Role) => {
    const handle = running.get(role);
    if (!handle) return;
    running.delete(role);
    try {
      await handle.stop();
      logger.info({ role }, 'role stopped');
    } catch (error) {
      logger.error({ role, err: error }, 'role did not stop cleanly');
    }
  };
  let proplets: Proplet[] = [];
  let metricsServer: PrometheusServer | undefined;
  const stop = async () => {
    // Proplets first, so they do not report on runs the manager no longer listens for.
    await Promise.all(proplets.map((proplet) => proplet.stop()));
    await metricsServer?.close().catch((error: unknown) => {
      logger.error({ err: error }, 'metrics server did not stop cleanly');
    });
    for (const role of STOP_ORDER) await stopRole(role);
    try {
      await resources.close();
    } finally {
      // PGlite unclosed can leave its files damaged; Redis must not outlive the manager.
      await standIns.close();
    }
  };

  try {
    if (usesPostgres(config)) await migrateDatabase(config.postgres, logger);
    for (const role of START_ORDER) if (config.roles.has(role)) await startRole(role);
    // After the roles, so that a process whose /metrics answers has started them all.
    metricsServer = await serveProcessMetrics(config, logger);
    proplets = await startEmbeddedProplets(config, logger.child({ role: 'proplet' }));
    // "Started" means a task started now runs: the embedded proplets are registered and alive.
    if (config.roles.has('liveness'))
      await waitUntilAlive(
        resources,
        proplets.map((proplet) => proplet.id),
        logger,
      );
  } catch (error) {
    await stop();
    throw error;
  }

  logger.info({ roles: [...running.keys()], embeddedProplets: proplets.length }, 'manager started');
  return {
    config,
    inUse: standIns.inUse,
    embeddedProplets: proplets.length,
    get roles() {
      return [...running.keys()];
    },
    get apiPort() {
      return apiPort;
    },
    metricsPort: metricsServer?.port,
    resources,
    stopRole,
    startRole,
    stop,
  };
}

const EMBEDDED_ALIVE_WITHIN_MS = 15_000;

async function waitUntilAlive(resources: Resources, ids: string[], logger: Logger): Promise<void> {
  const deadline = Date.now() + EMBEDDED_ALIVE_WITHIN_MS;
  for (const id of ids) {
    while (!(await resources.liveness.isAlive(id))) {
      if (Date.now() > deadline) {
        logger.warn({ propletId: id }, 'embedded proplet not alive yet; starting anyway');
        return;
      }
      await sleep(20);
    }
  }
}
