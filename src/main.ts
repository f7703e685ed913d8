import { rolesFromArgs } from './config/command-line.ts';
import { ConfigError, loadConfig } from './config/config.ts';
import { startManager } from './manager.ts';
import { createLogger } from './observability/logger.ts';
import { tracingHooks } from './observability/tracing-hooks.ts';
import { startUpBanner } from './start-up-banner.ts';

/** The longest wait for the collector at exit, within MANAGER_SHUTDOWN_TIMEOUT. */
const SPAN_FLUSH_MS = 5_000;

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
  const tracing = tracingHooks();
  if (config.tracing && !tracing)
    logger.warn(
      'MANAGER_OTEL_URL is set but tracing is off: start with --import ./src/observability/tracing-preload.mjs, as npm start does',
    );
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
    const startedAt = Date.now();
    const deadline = setTimeout(() => {
      logger.error('shutdown deadline passed: exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    deadline.unref();
    // Last, so the spans of the shutdown itself go too; bounded, so a collector that is away costs seconds.
    const flushSpans = async () => {
      if (!tracing) return;
      const left = config.shutdownTimeoutMs - (Date.now() - startedAt);
      if (!(await tracing.shutdown(Math.max(0, Math.min(SPAN_FLUSH_MS, left)))))
        logger.warn('not every span reached the collector before the exit');
    };
    manager.stop().then(
      async () => {
        await flushSpans();
        logger.info('stopped');
        process.exit(0);
      },
      async (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        await flushSpans();
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
