import { hostname } from 'node:os';
import type { ExecutionMode } from '../domain/progression.ts';
import { join, resolve } from 'node:path';
import { ConfigError } from './config-error.ts';
import { checkUnique, parseTokenList, readTokenFile, TokenListError, type ApiToken } from './api-tokens.ts';
import { readManagerToml } from './config-toml.ts';
import { LOCAL_DEFAULTS } from './defaults.ts';
import { environmentSchema, type Environment } from './environment.ts';
import { unsafeExposure } from './exposure.ts';
import { findExecutable } from './find-executable.ts';
import { toMqttUrl, withoutEmpty } from './variable-types.ts';
import type { Role } from './roles.ts';
import { transportSecurity, type HttpTls, type MqttTls } from './transport-security.ts';

export type { Role } from './roles.ts';
export type { HttpTls, MqttTls } from './transport-security.ts';

export interface Config {
  instanceId: string;
  roles: ReadonlySet<Role>;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /** Log lines for people (pino-pretty) rather than JSON. */
  logPretty: boolean;
  shutdownTimeoutMs: number;
  embeddedProplets: number;
  /** `tls` set: HTTPS (MANAGER_HTTP_SERVER_CERT and _KEY), on the api's port and on the metrics port. */
  http: { host: string; port: number; tls?: HttpTls };
  /**
   * The port of /metrics in a process without the api role (0: any free one); undefined: not served. The
   * api serves /metrics on its own port.
   */
  metricsPort: number | undefined;
  /**
   * The tokens the API accepts (none: no authentication); allowInsecure lets a process without them bind
   * beyond loopback.
   */
  auth: { tokens: readonly ApiToken[]; allowInsecure: boolean };
  /** Changes per client (token, or address without tokens) per api process; undefined: no limit. */
  rateLimit: RateLimit | undefined;
  /** A response making no progress for this long is cut off; always longer than invokeTimeoutMs. */
  httpWriteTimeoutMs: number;
  /** A request body beyond this many bytes is refused (413). */
  httpMaxBodyBytes: number;
  /**
   * What the environment did not name, so an embedded stand-in provides it (src/embedded): PGlite for
   * Postgres, aedes for the broker, a private redis-server for Redis. The addresses below are then filled
   * in once the stand-in is up.
   */
  standIns: { postgres: boolean; broker: boolean; redis: boolean };
  /** Files of the stand-ins. */
  dataDir: string;
  mqtt: {
    url: string;
    /** 4 (MQTT 3.1.1): no shared subscriptions and no session expiry, so one ingress instance only. */
    protocolVersion: 4 | 5;
    qos: 0 | 1 | 2;
    tenantId: string;
    channelId: string;
    entityId: string;
    apiKey: string;
    timeoutMs: number;
    shareGroup: string;
    /** CA, client certificate and verification for mqtts:// and wss:// brokers; see MqttTls. */
    tls?: MqttTls;
  };
  postgres: {
    host: string;
    port: number;
    user: string;
    password: string;
    database: string;
    sslmode: string;
    /** PEM CA certificates of the server (MANAGER_POSTGRES_SSL_ROOT_CERT); unset: the system's. */
    sslRootCert?: string;
    poolSize: number;
    /**
     * Whether the server gives all connections one session, as PGlite does: no named statements, and BullMQ's
     * tables in the public schema. Found out at start-up (src/db/postgres-kind.ts).
     */
    sharedSession: boolean;
  };
  /** A redis:// or rediss:// URL, or the path of a unix socket; `tlsCa` verifies a rediss:// server. */
  redis: { url: string; serverBinary?: string; tlsCa?: string };
  /** Where queues and shared coordination state live (see queueStoreOf). */
  queueStore: 'redis' | 'postgres';
  queuePrefix: string;
  propletAliveTimeoutMs: number;
  /** The largest MQTT packet proplets take: bounds start commands (inline Wasm) and what the ingress reads. */
  propletMaxPacketBytes: number;
  startTimeoutMs: number;
  /** How long a run may take when its task sets no timeout; undefined: no limit. */
  taskTimeoutMs: number | undefined;
  /** Retries of a task that sets no max_retries, and the exponential backoff between them. */
  retries: { defaultMax: number; backoffMs: number; backoffMaxMs: number };
  reconcileIntervalMs: number;
  jobExecutionMode: ExecutionMode;
  /** Bounds of the stored metrics samples: their age, and how many per task and per proplet. */
  metrics: { retentionMs: number; maxSamples: number };
  /** Starts one scheduler process dispatches at once. */
  schedulerConcurrency: number;
  /** MANAGER_INGRESS_SESSIONS: persistent broker sessions per ingress process (1 on MQTT 3.1.1). */
  ingressSessions: number;
  invokeTimeoutMs: number;
  /** GET /events: the keep-alive interval, and how long changes are kept for clients that resume. */
  events: { heartbeatMs: number; retentionMs: number };
  /** Bull Board shows the queues without its actions. */
  bullBoardReadOnly: boolean;
  /** OpenTelemetry tracing; undefined when MANAGER_OTEL_URL is unset (off). */
  tracing?: TracingConfig;
}

export interface RateLimit {
  /** Requests per period, and the largest burst. */
  limit: number;
  periodMs: number;
  /** As configured (`100/s`), for messages. */
  text: string;
}

export interface TracingConfig {
  /** Where spans go: the collector's OTLP/HTTP traces endpoint. */
  tracesUrl: string;
  /** The share of new traces sampled, from 0 to 1. */
  ratio: number;
}

export { ConfigError };

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
  if (e.MANAGER_INVOKE_TIMEOUT >= e.MANAGER_HTTP_SERVER_WRITE_TIMEOUT)
    // Upstream's 15 s write timeout under a 30 s invoke wait cut off late answers (spec §7).
    throw new ConfigError(
      'invalid configuration:\n  MANAGER_INVOKE_TIMEOUT: must be shorter than MANAGER_HTTP_SERVER_WRITE_TIMEOUT, or the answer could not be sent',
    );
  if (e.MANAGER_EVENTS_HEARTBEAT >= e.MANAGER_HTTP_SERVER_WRITE_TIMEOUT)
    // The write timeout would close every quiet event stream before its keep-alive.
    throw new ConfigError(
      'invalid configuration:\n  MANAGER_EVENTS_HEARTBEAT: must be shorter than MANAGER_HTTP_SERVER_WRITE_TIMEOUT, or quiet event streams would be cut off',
    );
  const tokens = apiTokens(e, cwd);
  const metricsPort = e.MANAGER_METRICS_PORT;
  const exposure = unsafeExposure({
    host: e.MANAGER_HTTP_HOST,
    // A process without the api binds the host only for /metrics (see serveProcessMetrics).
    binds: e.MANAGER_ROLES.has('api') || metricsPort !== undefined,
    hasTokens: tokens.length > 0,
    allowInsecure: e.MANAGER_ALLOW_INSECURE,
  });
  if (exposure) throw new ConfigError(`invalid configuration:\n  ${exposure}`);
  const broker = e.MANAGER_MQTT_ADDRESS === undefined;
  // aedes, the embedded broker, speaks MQTT 3.1.1 only.
  const protocolVersion = broker ? 4 : e.MANAGER_MQTT_PROTOCOL_VERSION;
  const queue = queueStoreOf(e.MANAGER_QUEUE_STORE, e.MANAGER_REDIS_URL, set.PATH);
  // Upstream reads all four from config.toml when any is missing; here the environment still wins per key.
  const identityMissing =
    !e.MANAGER_TENANT_ID || !e.MANAGER_CHANNEL_ID || !e.MANAGER_ENTITY_ID || e.MANAGER_API_KEY === undefined;
  const toml = identityMissing ? readManagerToml(join(cwd, 'config.toml')) : {};
  const security = transportSecurity(
    e,
    cwd,
    e.MANAGER_MQTT_ADDRESS === undefined ? undefined : toMqttUrl(e.MANAGER_MQTT_ADDRESS),
  );

  return {
    instanceId: e.MANAGER_INSTANCE_ID ?? hostname(),
    roles: e.MANAGER_ROLES,
    logLevel: e.MANAGER_LOG_LEVEL,
    logPretty: e.MANAGER_LOG_PRETTY,
    shutdownTimeoutMs: e.MANAGER_SHUTDOWN_TIMEOUT,
    embeddedProplets: e.MANAGER_EMBEDDED_PROPLETS ?? (broker ? 1 : 0),
    http: { host: e.MANAGER_HTTP_HOST, port: e.MANAGER_HTTP_PORT, ...defined('tls', security.httpTls) },
    metricsPort,
    auth: { tokens, allowInsecure: e.MANAGER_ALLOW_INSECURE },
    rateLimit: e.MANAGER_RATE_LIMIT,
    httpWriteTimeoutMs: e.MANAGER_HTTP_SERVER_WRITE_TIMEOUT,
    httpMaxBodyBytes: e.MANAGER_HTTP_MAX_BODY,
    standIns: {
      postgres: e.MANAGER_POSTGRES_HOST === undefined,
      broker,
      redis: queue.store === 'redis' && e.MANAGER_REDIS_URL === undefined,
    },
    dataDir: resolve(cwd, e.MANAGER_DATA_DIR),
    mqtt: {
      url: toMqttUrl(e.MANAGER_MQTT_ADDRESS ?? EMBEDDED_PLACEHOLDERS.mqttUrl),
      protocolVersion,
      qos: e.MANAGER_MQTT_QOS,
      tenantId: e.MANAGER_TENANT_ID ?? toml.tenant_id ?? LOCAL_DEFAULTS.tenantId,
      channelId: e.MANAGER_CHANNEL_ID ?? toml.channel_id ?? LOCAL_DEFAULTS.channelId,
      entityId: e.MANAGER_ENTITY_ID ?? toml.entity_id ?? LOCAL_DEFAULTS.entityId,
      apiKey: e.MANAGER_API_KEY ?? toml.api_key ?? LOCAL_DEFAULTS.apiKey,
      timeoutMs: e.MANAGER_MQTT_TIMEOUT,
      shareGroup: e.MANAGER_MQTT_SHARE_GROUP,
      ...defined('tls', security.mqttTls),
    },
    postgres: {
      host: e.MANAGER_POSTGRES_HOST ?? EMBEDDED_PLACEHOLDERS.postgresHost,
      port: e.MANAGER_POSTGRES_PORT,
      user: e.MANAGER_POSTGRES_USER,
      password: e.MANAGER_POSTGRES_PASS,
      database: e.MANAGER_POSTGRES_DB,
      sslmode: e.MANAGER_POSTGRES_SSLMODE,
      ...defined('sslRootCert', security.postgresRootCert),
      poolSize: e.MANAGER_POSTGRES_POOL_SIZE,
      sharedSession: false,
    },
    redis: {
      url: e.MANAGER_REDIS_URL ?? EMBEDDED_PLACEHOLDERS.redisUrl,
      serverBinary: queue.redisServer,
      ...defined('tlsCa', security.redisCa),
    },
    queueStore: queue.store,
    queuePrefix: e.MANAGER_QUEUE_PREFIX,
    propletAliveTimeoutMs: e.MANAGER_PROPLET_ALIVE_TIMEOUT,
    propletMaxPacketBytes: e.MANAGER_PROPLET_MAX_PACKET_SIZE,
    startTimeoutMs: e.MANAGER_START_TIMEOUT,
    taskTimeoutMs: e.MANAGER_TASK_TIMEOUT,
    retries: {
      defaultMax: e.MANAGER_TASK_MAX_RETRIES,
      backoffMs: e.MANAGER_TASK_RETRY_BACKOFF,
      backoffMaxMs: e.MANAGER_TASK_RETRY_BACKOFF_MAX,
    },
    reconcileIntervalMs: e.MANAGER_RECONCILE_INTERVAL,
    jobExecutionMode: e.MANAGER_JOB_EXECUTION_MODE,
    metrics: { retentionMs: e.MANAGER_METRICS_RETENTION, maxSamples: e.MANAGER_METRICS_MAX_SAMPLES },
    schedulerConcurrency: e.MANAGER_SCHEDULER_CONCURRENCY,
    // Without shared subscriptions, each session would receive (and queue) every message.
    ingressSessions: protocolVersion === 5 ? e.MANAGER_INGRESS_SESSIONS : 1,
    invokeTimeoutMs: e.MANAGER_INVOKE_TIMEOUT,
    events: { heartbeatMs: e.MANAGER_EVENTS_HEARTBEAT, retentionMs: e.MANAGER_EVENTS_RETENTION },
    bullBoardReadOnly: e.MANAGER_BULLBOARD_READONLY,
    tracing:
      e.MANAGER_OTEL_URL === undefined
        ? undefined
        : { tracesUrl: otlpTracesUrl(e.MANAGER_OTEL_URL), ratio: e.MANAGER_TRACE_RATIO },
  };
}

/** `{ [key]: value }`, or nothing where value is undefined: settings that are off leave no key behind. */
function defined<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]?: V });
}

/**
 * The tokens of MANAGER_API_TOKENS and MANAGER_API_TOKENS_FILE together; a bad entry is reported with the
 * variable it is in (and its line or position), never with its token.
 */
function apiTokens(e: Environment, cwd: string): ApiToken[] {
  const reported = <T>(variable: string, read: () => T): T => {
    try {
      return read();
    } catch (error) {
      if (!(error instanceof TokenListError)) throw error;
      throw new ConfigError(`invalid configuration:\n  ${variable}: ${error.message}`, { cause: error });
    }
  };
  const listed = e.MANAGER_API_TOKENS;
  const file = e.MANAGER_API_TOKENS_FILE;
  const tokens = [
    ...(listed === undefined ? [] : reported('MANAGER_API_TOKENS', () => parseTokenList(listed))),
    ...(file === undefined
      ? []
      : reported('MANAGER_API_TOKENS_FILE', () => readTokenFile(resolve(cwd, file)))),
  ];
  const variables = [listed && 'MANAGER_API_TOKENS', file && 'MANAGER_API_TOKENS_FILE'].filter(Boolean);
  reported(variables.join(', '), () => checkUnique(tokens));
  return tokens;
}

/**
 * A base URL, as OTEL_EXPORTER_OTLP_ENDPOINT takes it (http://jaeger:4318), gets the traces path added; a
 * URL with a path (http://jaeger:4318/v1/traces, as upstream Propeller's examples write it) is used as it is.
 */
export function otlpTracesUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.pathname !== '/' && parsed.pathname !== '') return url;
  parsed.pathname = '/v1/traces';
  return parsed.toString();
}

/** Addresses of stand-ins before they are up; src/embedded replaces them with the real ones. */
const EMBEDDED_PLACEHOLDERS = {
  mqttUrl: 'mqtt://127.0.0.1:1883',
  postgresHost: '127.0.0.1',
  redisUrl: 'redis://127.0.0.1:6379',
} as const;

/** Redis-compatible servers the manager can run privately when no Redis is configured, best first. */
const REDIS_SERVERS = ['valkey-server', 'redis-server'];

/**
 * Queues and coordination state go to Redis when one is configured or a server binary is on the PATH (it
 * is started privately), and to Postgres (BullMQ's Postgres backend) otherwise, or when asked to.
 */
export function queueStoreOf(
  choice: 'auto' | 'redis' | 'postgres',
  redisUrl: string | undefined,
  path: string | undefined,
): { store: 'redis' | 'postgres'; redisServer?: string } {
  if (choice === 'postgres') return { store: 'postgres' };
  if (redisUrl !== undefined) return { store: 'redis' };
  const redisServer = REDIS_SERVERS.map((name) => findExecutable(name, path)).find((found) => found);
  if (redisServer) return { store: 'redis', redisServer };
  if (choice === 'redis')
    throw new ConfigError(
      `MANAGER_QUEUE_STORE: redis needs MANAGER_REDIS_URL or one of ${REDIS_SERVERS.join(', ')} on the PATH`,
    );
  return { store: 'postgres' };
}
