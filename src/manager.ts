import { startIngress } from '../workers/ingress.ts';
import { startLiveness } from '../workers/liveness.ts';
import { startResults } from '../workers/results.ts';
import { startScheduler } from '../workers/scheduler.ts';
import type { Config, Role } from './config/config.ts';
import { migrateDatabase } from './db/migrate.ts';
import { startApi } from './http/api-role.ts';
import type { Logger } from './observability/logger.ts';
import { startEmbeddedProplets } from './proplet/embedded-proplets.ts';
import type { Proplet } from './proplet/proplet.ts';
import { Resources } from './resources.ts';
import type { RoleHandle } from './role.ts';

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
  readonly roles: Role[];
  /** The port the API listens on, when this process runs the api role. */
  readonly apiPort?: number;
  readonly resources: Resources;
  /** Stops one role and leaves the others running (used to show that a restart loses nothing). */
  stopRole(role: Role): Promise<void>;
  startRole(role: Role): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the roles the configuration names, in one process, after migrating the database if they use it. */
export async function startManager(config: Config, logger: Logger): Promise<RunningManager> {
  const resources = new Resources(config, logger);
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
  const stop = async () => {
    // Proplets first, so they do not report on runs the manager no longer listens for.
    await Promise.all(proplets.map((proplet) => proplet.stop()));
    for (const role of STOP_ORDER) await stopRole(role);
    await resources.close();
  };

  try {
    if ([...config.roles].some((role) => role !== 'ingress')) await migrateDatabase(config.postgres, logger);
    for (const role of START_ORDER) if (config.roles.has(role)) await startRole(role);
    proplets = await startEmbeddedProplets(config, logger.child({ role: 'proplet' }));
  } catch (error) {
    await stop();
    throw error;
  }

  logger.info({ roles: [...running.keys()], embeddedProplets: proplets.length }, 'manager started');
  if (apiPort !== undefined)
    logger.info({ sample: sampleCommand(config.http.host, apiPort) }, 'run a sample task');
  return {
    get roles() {
      return [...running.keys()];
    },
    get apiPort() {
      return apiPort;
    },
    resources,
    stopRole,
    startRole,
    stop,
  };
}

/** A line a newcomer can paste: creates add(2, 3) from the sample module, starts it, shows its result. */
function sampleCommand(host: string, port: number): string {
  const api = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  return (
    `ID=$(curl -s -XPOST ${api}/tasks -H 'content-type: application/json' ` +
    `-d "{\\"name\\":\\"add\\",\\"inputs\\":[2,3],\\"file\\":\\"$(base64 -w0 examples/add.wasm)\\"}" | jq -r .id) && ` +
    `curl -s -XPOST ${api}/tasks/$ID/start && sleep 1 && curl -s ${api}/tasks/$ID/results`
  );
}
