import { z } from 'zod';
import { LOCAL_DEFAULTS } from './defaults.ts';
import type { MqttTls } from './transport-security.ts';
import {
  durationMs,
  integerIn,
  logLevel,
  mqttAddress,
  mqttQos,
  toMqttUrl,
  withoutEmpty,
} from './variable-types.ts';

/** The reference proplet's environment: upstream's PROPLET_* names, with defaults that meet the manager's. */
const propletEnvironment = z.object({
  PROPLET_TENANT_ID: z.string().min(1).default(LOCAL_DEFAULTS.tenantId),
  PROPLET_CHANNEL_ID: z.string().min(1).default(LOCAL_DEFAULTS.channelId),
  PROPLET_ENTITY_ID: z.string().min(1).optional(),
  PROPLET_API_KEY: z.string().default(''),
  PROPLET_MQTT_ADDRESS: mqttAddress,
  PROPLET_MQTT_QOS: mqttQos,
  PROPLET_LIVELINESS_INTERVAL: durationMs('10'),
  PROPLET_METRICS_INTERVAL: durationMs('10'),
  PROPLET_MAX_TASKS: integerIn(4, 1, 1_000),
  /** Bytes of Wasm linear memory one task may use. */
  PROPLET_MAX_MEMORY: integerIn(256 * 1024 * 1024, 65_536, 2 ** 40),
  PROPLET_LOG_LEVEL: logLevel,
  /** Largest module an image_url download may bring. */
  PROPLET_MAX_DOWNLOAD: integerIn(100 * 1024 * 1024, 1, 2 ** 40),
});

export interface PropletConfig {
  tenantId: string;
  channelId: string;
  entityId: string;
  apiKey: string;
  /** The broker login when it is not the entity id: embedded proplets log in as their manager. */
  username?: string;
  mqttUrl: string;
  /** For an mqtts:// broker; unset: verified against the system's CAs (or NODE_EXTRA_CA_CERTS). */
  tls?: MqttTls;
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
  const parsed = propletEnvironment.safeParse(withoutEmpty(env));
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
    mqttUrl: toMqttUrl(e.PROPLET_MQTT_ADDRESS),
    qos: e.PROPLET_MQTT_QOS,
    livelinessIntervalMs: e.PROPLET_LIVELINESS_INTERVAL,
    metricsIntervalMs: e.PROPLET_METRICS_INTERVAL,
    maxTasks: e.PROPLET_MAX_TASKS,
    maxMemoryBytes: e.PROPLET_MAX_MEMORY,
    maxDownloadBytes: e.PROPLET_MAX_DOWNLOAD,
    logLevel: e.PROPLET_LOG_LEVEL,
  };
}
