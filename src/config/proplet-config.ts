import { z } from 'zod';
import { parseDurationMs } from './duration.ts';
import { LOCAL_DEFAULTS } from './defaults.ts';

/** Intervals are whole seconds upstream (PROPLET_LIVELINESS_INTERVAL=10); Go-style durations work too. */
const interval = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const ms = parseDurationMs(text);
      if (ms === undefined || ms <= 0) {
        ctx.addIssue({
          code: 'custom',
          message: `expected seconds or a duration such as 10s, got '${text}'`,
        });
        return z.NEVER;
      }
      return ms;
    });

const positiveInteger = (fallback: number) =>
  z
    .string()
    .default(String(fallback))
    .refine((text) => /^\d+$/.test(text) && Number(text) > 0, { message: 'expected a positive integer' })
    .transform(Number);

/** The reference proplet's environment: upstream's PROPLET_* names, with defaults that meet the manager's. */
const propletEnvironment = z.object({
  PROPLET_TENANT_ID: z.string().min(1).default(LOCAL_DEFAULTS.tenantId),
  PROPLET_CHANNEL_ID: z.string().min(1).default(LOCAL_DEFAULTS.channelId),
  PROPLET_ENTITY_ID: z.string().min(1).optional(),
  PROPLET_API_KEY: z.string().default(''),
  PROPLET_MQTT_ADDRESS: z
    .string()
    .default('tcp://localhost:1883')
    .refine((text) => /^(tcp|mqtt|ssl|tls|mqtts|ws|wss):\/\/[^/\s]+/.test(text), {
      message: 'expected a broker address such as tcp://localhost:1883',
    }),
  PROPLET_MQTT_QOS: z
    .enum(['0', '1', '2'])
    .default('1')
    .transform(Number)
    .pipe(z.union([z.literal(0), z.literal(1), z.literal(2)])),
  PROPLET_LIVELINESS_INTERVAL: interval('10'),
  PROPLET_METRICS_INTERVAL: interval('10'),
  PROPLET_MAX_TASKS: positiveInteger(4),
  /** Bytes of Wasm linear memory one task may use. */
  PROPLET_MAX_MEMORY: positiveInteger(256 * 1024 * 1024),
  PROPLET_LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  /** Largest module an image_url download may bring. */
  PROPLET_MAX_DOWNLOAD: positiveInteger(100 * 1024 * 1024),
});

export interface PropletConfig {
  tenantId: string;
  channelId: string;
  entityId: string;
  apiKey: string;
  mqttUrl: string;
  qos: 0 | 1 | 2;
  livelinessIntervalMs: number;
  metricsIntervalMs: number;
  maxTasks: number;
  maxMemoryBytes: number;
  maxDownloadBytes: number;
  logLevel: string;
}

export class PropletConfigError extends Error {
  override name = 'PropletConfigError';
}

export function loadPropletConfig(env: NodeJS.ProcessEnv = process.env, newId: () => string): PropletConfig {
  const set = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = propletEnvironment.safeParse(set);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new PropletConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  return {
    tenantId: e.PROPLET_TENANT_ID,
    channelId: e.PROPLET_CHANNEL_ID,
    // Upstream proplets get a UUID entity id when provisioned; a local one makes up its own.
    entityId: e.PROPLET_ENTITY_ID ?? newId(),
    apiKey: e.PROPLET_API_KEY,
    mqttUrl: e.PROPLET_MQTT_ADDRESS.replace(/^tcp:\/\//, 'mqtt://').replace(/^(ssl|tls):\/\//, 'mqtts://'),
    qos: e.PROPLET_MQTT_QOS,
    livelinessIntervalMs: e.PROPLET_LIVELINESS_INTERVAL,
    metricsIntervalMs: e.PROPLET_METRICS_INTERVAL,
    maxTasks: e.PROPLET_MAX_TASKS,
    maxMemoryBytes: e.PROPLET_MAX_MEMORY,
    maxDownloadBytes: e.PROPLET_MAX_DOWNLOAD,
    logLevel: e.PROPLET_LOG_LEVEL,
  };
}
