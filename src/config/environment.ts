import { z } from 'zod';
import { EXECUTION_MODES } from '../domain/progression.ts';
import { MAX_RETRIES } from '../domain/retry-policy.ts';
import { ROLES, isRole, type Role } from './roles.ts';
import {
  brokerAddress,
  byteSize,
  durationMs,
  optionalDurationMs,
  integerIn,
  flag,
  httpUrl,
  filePath,
  logLevel,
  mqttQos,
  optionalPort,
  optionalIntegerIn,
  rateLimit,
  ratio,
} from './variable-types.ts';

const roles = z
  .string()
  .default(ROLES.join(','))
  .transform((text, ctx) => {
    const names = text
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name !== '');
    const unknown = names.filter((name) => name !== 'all' && !isRole(name));
    if (unknown.length > 0 || names.length === 0) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a comma list of ${ROLES.join(', ')} (or all), got '${text}'`,
      });
      return z.NEVER;
    }
    return new Set<Role>(names.includes('all') ? ROLES : (names as Role[]));
  });

/** The most MQTT allows in one packet (its remaining length is at most 268,435,455 bytes). */
const MQTT_MAX_PACKET_BYTES = 268_435_455;
/** A request body is held in memory once read: beyond a gibibyte, a module belongs behind an image_url. */
const MAX_HTTP_BODY_BYTES = 1_024 ** 3;

const nonEmpty = (fallback: string) => z.string().trim().min(1, 'must not be empty').default(fallback);

/**
 * Every variable the manager reads, with its default. Names follow upstream Propeller where it has one.
 * The keys are the variable names, so a validation error names the variable.
 */
export const environmentSchema = z.object({
  MANAGER_INSTANCE_ID: z.string().trim().min(1).optional(),
  MANAGER_ROLES: roles,
  MANAGER_LOG_LEVEL: logLevel,
  /** Human-readable log lines (pino-pretty) instead of JSON. */
  MANAGER_LOG_PRETTY: flag(false),
  MANAGER_HTTP_HOST: nonEmpty('127.0.0.1'),
  MANAGER_HTTP_PORT: integerIn(7070, 0, 65535),
  /** A response that makes no progress for this long is cut off; must outlast MANAGER_INVOKE_TIMEOUT. */
  MANAGER_HTTP_SERVER_WRITE_TIMEOUT: durationMs('60s'),
  /** A request body beyond this is refused with 413, before the rest of it is read. */
  MANAGER_HTTP_MAX_BODY: byteSize('10MiB', 1_024, MAX_HTTP_BODY_BYTES),
  /** PEM certificate (chain) and its key: both set, the api and the metrics port serve HTTPS. */
  MANAGER_HTTP_SERVER_CERT: filePath,
  MANAGER_HTTP_SERVER_KEY: filePath,
  /**
   * Where a process without the api role serves /metrics (the api serves it on its HTTP port): a port, 0
   * for any free one, or off.
   */
  MANAGER_METRICS_PORT: optionalPort(7071),
  /**
   * API tokens, a comma list of `name:role:token` (src/config/api-tokens.ts). Unset, with no token file
   * either: the API needs no authentication and binds only a loopback address (see MANAGER_ALLOW_INSECURE).
   */
  MANAGER_API_TOKENS: z.string().optional(),
  /** A file of tokens, one `name:role:token` or `name:role:sha256:<hex>` per line; adds to the list above. */
  MANAGER_API_TOKENS_FILE: z.string().trim().min(1).optional(),
  /** Lets a process without API tokens bind an address other than loopback. */
  MANAGER_ALLOW_INSECURE: flag(false),
  /** Changes (POST, PUT, PATCH, DELETE) per token, per api process: `100/s`, `6000/m`, or off. */
  MANAGER_RATE_LIMIT: rateLimit,
  /** Unset: an embedded broker (aedes) stands in; see src/embedded. */
  MANAGER_MQTT_ADDRESS: brokerAddress.optional(),
  /** 5 for brokers that speak MQTT 5 (shared subscriptions, session expiry); 4 for MQTT 3.1.1 only. */
  MANAGER_MQTT_PROTOCOL_VERSION: z
    .enum(['4', '5'])
    .default('5')
    .transform((text) => (text === '4' ? 4 : 5)),
  MANAGER_MQTT_QOS: mqttQos,
  MANAGER_MQTT_TIMEOUT: durationMs('30s'),
  MANAGER_MQTT_SHARE_GROUP: nonEmpty('propeller-ingress'),
  /**
   * Broker sessions one ingress process holds in the shared subscription. mqtt.js hands a session's messages
   * over one at a time, each acknowledged only once queued, so one session moves one message per queue round
   * trip; several move several at once. MQTT 5 only: on 3.1.1 every session would get every message.
   */
  MANAGER_INGRESS_SESSIONS: integerIn(4, 1, 32),
  /** PEM CA certificates the broker's certificate is verified against (else the system's). */
  MANAGER_MQTT_TLS_CA_CERT: filePath,
  /** PEM certificate and key the manager presents to a broker that asks for one (mTLS); both or neither. */
  MANAGER_MQTT_TLS_CLIENT_CERT: filePath,
  MANAGER_MQTT_TLS_CLIENT_KEY: filePath,
  /** Accept any broker certificate; for trying things out only (a warning is logged). */
  MANAGER_MQTT_TLS_INSECURE_SKIP_VERIFY: flag(false),
  MANAGER_TENANT_ID: z.string().trim().min(1).optional(),
  MANAGER_CHANNEL_ID: z.string().trim().min(1).optional(),
  MANAGER_ENTITY_ID: z.string().trim().min(1).optional(),
  MANAGER_API_KEY: z.string().optional(),
  /** Unset: an embedded Postgres (PGlite, under MANAGER_DATA_DIR) stands in. */
  MANAGER_POSTGRES_HOST: z.string().trim().min(1).optional(),
  MANAGER_POSTGRES_PORT: integerIn(5432, 1, 65535),
  MANAGER_POSTGRES_USER: nonEmpty('postgres'),
  MANAGER_POSTGRES_PASS: z.string().default(''),
  MANAGER_POSTGRES_DB: nonEmpty('propeller'),
  MANAGER_POSTGRES_SSLMODE: z
    .enum(['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'])
    .default('disable'),
  /** PEM CA certificates of the Postgres server, for verify-ca and verify-full (libpq's sslrootcert). */
  MANAGER_POSTGRES_SSL_ROOT_CERT: filePath,
  MANAGER_POSTGRES_POOL_SIZE: integerIn(10, 1, 500),
  /** Unset: a private redis-server or valkey-server from the PATH, or else queues in Postgres. */
  MANAGER_REDIS_URL: z
    .string()
    .refine((text) => /^rediss?:\/\//.test(text), { message: 'expected a redis:// or rediss:// URL' })
    .optional(),
  /** PEM CA certificates a rediss:// server's certificate is verified against (else the system's). */
  MANAGER_REDIS_TLS_CA_CERT: filePath,
  /** Where queues and shared coordination state live: redis, postgres, or auto (see src/embedded). */
  MANAGER_QUEUE_STORE: z.enum(['auto', 'redis', 'postgres']).default('auto'),
  /** Files of the embedded stand-ins (PGlite's database). */
  MANAGER_DATA_DIR: nonEmpty('./data'),
  MANAGER_QUEUE_PREFIX: z
    .string()
    .default('{propeller}')
    .refine((text) => /^\{[^{}]+\}/.test(text), {
      message: 'expected a prefix starting with a Redis Cluster hash tag, such as {propeller}',
    }),
  MANAGER_PROPLET_ALIVE_TIMEOUT: durationMs('25s'),
  /**
   * The largest MQTT packet a proplet takes (the Rust proplet's PROPLET_MQTT_MAX_PACKET_SIZE): a task whose
   * start command would be larger is refused, and proplet messages larger than it are dropped.
   */
  MANAGER_PROPLET_MAX_PACKET_SIZE: byteSize('10MiB', 1_024, MQTT_MAX_PACKET_BYTES),
  MANAGER_START_TIMEOUT: durationMs('10m'),
  /** How long a run may take when its task sets no `timeout`; unset: no limit. */
  MANAGER_TASK_TIMEOUT: optionalDurationMs(),
  /** Retries of a task that sets no max_retries: lost proplet, timeout (and Wasm errors with retry_on_error). */
  MANAGER_TASK_MAX_RETRIES: integerIn(3, 0, MAX_RETRIES),
  /** The wait before the first retry; each next one waits twice as long, up to the maximum. */
  MANAGER_TASK_RETRY_BACKOFF: durationMs('1s'),
  MANAGER_TASK_RETRY_BACKOFF_MAX: durationMs('1m'),
  /** How often the reconciler looks for tasks whose state and queue disagree, and repairs them. */
  MANAGER_RECONCILE_INTERVAL: durationMs('30s'),
  /** How a job runs when it was created without an execution_mode (upstream: JOB_EXECUTION_MODE). */
  MANAGER_JOB_EXECUTION_MODE: z.enum(EXECUTION_MODES).default('parallel'),
  /** Starts one scheduler process dispatches at once. */
  MANAGER_SCHEDULER_CONCURRENCY: integerIn(32, 1, 1000),
  MANAGER_SHUTDOWN_TIMEOUT: durationMs('30s'),
  /** Task and proplet metrics samples older than this are deleted. */
  MANAGER_METRICS_RETENTION: durationMs('24h'),
  /** Samples kept per task and per proplet, the newest. */
  MANAGER_METRICS_MAX_SAMPLES: integerIn(1000, 1, 1_000_000),
  /** GET /events sends a keep-alive comment this often; must be shorter than the write timeout. */
  MANAGER_EVENTS_HEARTBEAT: durationMs('15s'),
  /** Task changes are kept this long for event-stream clients that reconnect and resume. */
  MANAGER_EVENTS_RETENTION: durationMs('5m'),
  /** How long POST /tasks/{id}/invoke waits for the proplet's answer, every attempt included. */
  MANAGER_INVOKE_TIMEOUT: durationMs('30s'),
  /**
   * Reference proplets to run inside the manager process, on its tenant and channel. Default 1 when the
   * broker is embedded (a first run with nothing installed), else 0.
   */
  MANAGER_EMBEDDED_PROPLETS: optionalIntegerIn(0, 64),
  /** Bull Board at /admin/queues shows the queues without its actions (retry, clean, …). */
  MANAGER_BULLBOARD_READONLY: z
    .enum(['true', 'false'], { message: 'expected true or false' })
    .default('false')
    .transform((text) => text === 'true'),
  /**
   * OTLP over HTTP: a collector's base URL (http://jaeger:4318, to which /v1/traces is added) or its traces
   * endpoint (any URL with a path). Unset: no tracing, and no OpenTelemetry code is loaded.
   */
  MANAGER_OTEL_URL: httpUrl.optional(),
  /** The share of new traces kept (0 to 1); a trace begun elsewhere keeps its caller's decision. */
  MANAGER_TRACE_RATIO: ratio(1),
});

export type Environment = z.infer<typeof environmentSchema>;
