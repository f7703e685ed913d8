import { ConfigError, loadConfig } from './config/config.ts';
import { isRole } from './config/roles.ts';
import { startManager } from './manager.ts';
import { createLogger } from './observability/logger.ts';
import { startUpBanner } from './start-up-banner.ts';

/** `tsx src/main.ts [role…]`: roles on the command line take precedence over MANAGER_ROLES. */
function rolesFromArgs(args: string[]): string | undefined {
  if (args.length === 0) return undefined;
  for (const arg of args) {
    if (arg !== 'all' && !isRole(arg)) throw new ConfigError(`unknown role '${arg}' on the command line`);
  }
  return args.join(',');
}

async function main(): Promise<void> {
  let config;
  try {
    const roles = rolesFromArgs(process.argv.slice(2));
    config = loadConfig(undefined, undefined, { roles });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`propeller-manager: ${error.message}\n`);
    process.exit(2);
  }

  const logger = createLogger(config.logLevel, { instance: config.instanceId }, { pretty: config.logPretty });
  const manager = await startManager(config, logger);
  // For people; the logs carry the same facts as JSON.
  process.stderr.write(startUpBanner(manager));

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal, deadlineMs: config.shutdownTimeoutMs }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.error('shutdown deadline passed: exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    deadline.unref();
    manager.stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(
    `propeller-manager: could not start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
