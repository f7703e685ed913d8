import { loadPropletConfig, PropletConfigError } from '../config/proplet-config.ts';
import { createLogger } from '../observability/logger.ts';
import { newPropletId, Proplet } from './proplet.ts';

/** `npm run proplet`: one reference proplet, configured with upstream's PROPLET_* variables. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadPropletConfig(undefined, newPropletId);
  } catch (error) {
    if (!(error instanceof PropletConfigError)) throw error;
    process.stderr.write(`propeller-proplet: ${error.message}\n`);
    process.exit(2);
  }
  const logger = createLogger(config.logLevel, { service: 'propeller-proplet' });
  const proplet = new Proplet(config, logger);
  await proplet.start();
  let stopping = false;
  const shutdown = () => {
    if (stopping) process.exit(1);
    stopping = true;
    proplet.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `propeller-proplet: could not start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
