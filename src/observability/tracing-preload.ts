/**
 * Loaded before the application (`node --import tsx --import ./src/observability/tracing-preload.ts
 * src/main.ts`, as the npm start scripts and the Dockerfile run it). When MANAGER_OTEL_URL is set it
 * registers the import-in-the-middle hook and starts the OpenTelemetry SDK, which must both happen before
 * ioredis, pg or express are imported: instrumentations patch a module as it loads, and an ES module's
 * import of ioredis is seen only through the hook. When the variable is unset it loads nothing more, so
 * tracing costs nothing. A configuration that does not parse starts no tracing either: main then reports it.
 */
import { register } from 'node:module';
import { rolesFromArgs } from '../config/command-line.ts';
import { ConfigError, loadConfig, type Config } from '../config/config.ts';

function configuration(): Config | undefined {
  try {
    return loadConfig(undefined, undefined, { roles: rolesFromArgs(process.argv.slice(2)) });
  } catch (error) {
    if (error instanceof ConfigError) return undefined;
    throw error;
  }
}

const config = configuration();
if (config?.tracing) {
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, {
    data: { include: ['ioredis', 'express'] },
  });
  const { startTracing } = await import('./tracing-sdk.ts');
  startTracing({ ...config, tracing: config.tracing });
}
