/**
 * Loaded by tracing-preload.mjs, before the application, when MANAGER_OTEL_URL is set: registers the
 * import-in-the-middle hook and starts the OpenTelemetry SDK, which must both happen before ioredis and
 * express are imported. Instrumentations patch a module as it loads, and an ES module's import of a
 * CommonJS package (ioredis, express) is seen only through the hook; the hook wraps those two only, as
 * wrapping every module would slow the start for nothing (pg and node:http are patched without it). A
 * configuration that does not parse starts no tracing: main then reports it and exits.
 */
import { register } from 'node:module';
import { rolesFromArgs } from '../config/command-line.ts';
import { ConfigError, loadConfig, type Config } from '../config/config.ts';
import { createLogger } from './logger.ts';

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
  const logger = createLogger(config.logLevel, { instance: config.instanceId, role: 'tracing' });
  startTracing({ ...config, tracing: config.tracing }, logger);
}
