import { hostname } from 'node:os';
import { join } from 'node:path';
import { readManagerToml } from './config-toml.ts';
import { LOCAL_DEFAULTS } from './defaults.ts';
import { environmentSchema } from './environment.ts';
import { toMqttUrl, withoutEmpty } from './variable-types.ts';
import type { Role } from './roles.ts';

export type { Role } from './roles.ts';

export interface Config {
  instanceId: string;
  roles: ReadonlySet<Role>;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  shutdownTimeoutMs: number;
  embeddedProplets: number;
  http: { host: string; port: number };
  mqtt: {
    url: string;
    qos: 0 | 1 | 2;
    tenantId: string;
    channelId: string;
    entityId: string;
    apiKey: string;
    timeoutMs: number;
    shareGroup: string;
  };
  postgres: {
    host: string;
    port: number;
    user: string;
    password: string;
    database: string;
    sslmode: string;
    poolSize: number;
  };
  redis: { url: string };
  queuePrefix: string;
  propletAliveTimeoutMs: number;
  startTimeoutMs: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Parses the environment once. A bad value throws a ConfigError naming the variable; nothing else in the
 * code base reads process.env.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
  overrides: { roles?: string } = {},
): Config {
  // As upstream does, an empty variable counts as unset: its default (or config.toml) applies.
  const set = withoutEmpty(env);
  const parsed = environmentSchema.safeParse(
    overrides.roles ? { ...set, MANAGER_ROLES: overrides.roles } : set,
  );
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  // Upstream reads all four from config.toml when any is missing; here the environment still wins per key.
  const identityMissing =
    !e.MANAGER_TENANT_ID || !e.MANAGER_CHANNEL_ID || !e.MANAGER_ENTITY_ID || e.MANAGER_API_KEY === undefined;
  const toml = identityMissing ? readManagerToml(join(cwd, 'config.toml')) : {};

  return {
    instanceId: e.MANAGER_INSTANCE_ID ?? hostname(),
    roles: e.MANAGER_ROLES,
    logLevel: e.MANAGER_LOG_LEVEL,
    shutdownTimeoutMs: e.MANAGER_SHUTDOWN_TIMEOUT,
    embeddedProplets: e.MANAGER_EMBEDDED_PROPLETS,
    http: { host: e.MANAGER_HTTP_HOST, port: e.MANAGER_HTTP_PORT },
    mqtt: {
      url: toMqttUrl(e.MANAGER_MQTT_ADDRESS),
      qos: e.MANAGER_MQTT_QOS,
      tenantId: e.MANAGER_TENANT_ID ?? toml.tenant_id ?? LOCAL_DEFAULTS.tenantId,
      channelId: e.MANAGER_CHANNEL_ID ?? toml.channel_id ?? LOCAL_DEFAULTS.channelId,
      entityId: e.MANAGER_ENTITY_ID ?? toml.entity_id ?? LOCAL_DEFAULTS.entityId,
      apiKey: e.MANAGER_API_KEY ?? toml.api_key ?? LOCAL_DEFAULTS.apiKey,
      timeoutMs: e.MANAGER_MQTT_TIMEOUT,
      shareGroup: e.MANAGER_MQTT_SHARE_GROUP,
    },
    postgres: {
      host: e.MANAGER_POSTGRES_HOST,
      port: e.MANAGER_POSTGRES_PORT,
      user: e.MANAGER_POSTGRES_USER,
      password: e.MANAGER_POSTGRES_PASS,
      database: e.MANAGER_POSTGRES_DB,
      sslmode: e.MANAGER_POSTGRES_SSLMODE,
      poolSize: e.MANAGER_POSTGRES_POOL_SIZE,
    },
    redis: { url: e.MANAGER_REDIS_URL },
    queuePrefix: e.MANAGER_QUEUE_PREFIX,
    propletAliveTimeoutMs: e.MANAGER_PROPLET_ALIVE_TIMEOUT,
    startTimeoutMs: e.MANAGER_START_TIMEOUT,
  };
}
