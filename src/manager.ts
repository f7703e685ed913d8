import { startIngress } from '../workers/ingress.ts';
import { startLiveness } from '../workers/liveness.ts';
import { startResults } from '../workers/results.ts';
import { startScheduler } from '../workers/scheduler.ts';
import type { Config } from './config/config.ts';
import { migrateDatabase } from './db/migrate.ts';
import { startApi } from './http/api-role.ts';
import type { Logger } from './observability/logger.ts';
import { Resources } from './resources.ts';
import type { RoleHandle } from './role.ts';

export interface RunningManager {
  roles: string[];
  /** The port the API listens on, when this process runs the api role. */
  apiPort?: number;
  resources: Resources;
  stop(): Promise<void>;
}

/**
 * Starts the roles the configuration names, in one process. Consumers start before producers of work, so
 * nothing queued at start-up waits for a worker; on stop, intake closes first (api, ingress), then the
 * workers finish their active jobs, then the connections close.
 */
export async function startManager(config: Config, logger: Logger): Promise<RunningManager> {
  const roles = config.roles;
  const resources = new Resources(config, logger);
  const started: RoleHandle[] = [];
  let apiPort: number | undefined;

  try {
    if (roles.has('api') || roles.has('scheduler') || roles.has('results') || roles.has('liveness')) {
      await migrateDatabase(config.postgres, logger);
    }
    if (roles.has('liveness')) started.push(await startLiveness(resources));
    if (roles.has('results')) started.push(startResults(resources));
    if (roles.has('scheduler')) started.push(startScheduler(resources));
    if (roles.has('ingress')) started.push(await startIngress(resources));
    if (roles.has('api')) {
      const api = await startApi(resources);
      apiPort = api.port;
      started.push(api);
    }
  } catch (error) {
    await stopAll(started, resources, logger);
    throw error;
  }

  logger.info({ roles: started.map((role) => role.name) }, 'manager started');
  return {
    roles: started.map((role) => role.name),
    apiPort,
    resources,
    stop: () => stopAll(started, resources, logger),
  };
}

const STOP_ORDER = ['api', 'ingress', 'scheduler', 'results', 'liveness'];

async function stopAll(started: RoleHandle[], resources: Resources, logger: Logger): Promise<void> {
  const ordered = [...started].sort((a, b) => STOP_ORDER.indexOf(a.name) - STOP_ORDER.indexOf(b.name));
  for (const role of ordered) {
    try {
      await role.stop();
      logger.info({ role: role.name }, 'role stopped');
    } catch (error) {
      logger.error({ role: role.name, err: error }, 'role did not stop cleanly');
    }
  }
  await resources.close();
}
