import type { Config } from '../config/config.ts';
import type { PropletConfig } from '../config/proplet-config.ts';
import type { Logger } from '../observability/logger.ts';
import { newPropletId, Proplet } from './proplet.ts';

/** Upstream's default heartbeat and metrics interval. */
const INTERVAL_MS = 10_000;

/** Upstream's interval, or shorter where the alive timeout is short: 2.5 beats fit in it, as by default. */
export function embeddedBeatIntervalMs(aliveTimeoutMs: number): number {
  return Math.min(INTERVAL_MS, Math.floor(aliveTimeoutMs / 2.5));
}

/**
 * Reference proplets run inside the manager process (MANAGER_EMBEDDED_PROPLETS), on its broker, tenant and
 * channel: a whole working system from one command. They are ordinary MQTT clients of the broker, as
 * separate proplets would be.
 */
export async function startEmbeddedProplets(config: Config, logger: Logger): Promise<Proplet[]> {
  const proplets: Proplet[] = [];
  for (let i = 0; i < config.embeddedProplets; i++) {
    const propletConfig: PropletConfig = {
      tenantId: config.mqtt.tenantId,
      channelId: config.mqtt.channelId,
      entityId: newPropletId(),
      // The manager's own login and TLS settings: they are part of the manager, and a broker that checks
      // passwords knows no login of theirs (the shipped ACL lets every user publish proplet topics).
      username: config.mqtt.entityId,
      apiKey: config.mqtt.apiKey,
      mqttUrl: config.mqtt.url,
      tls: config.mqtt.tls,
      qos: 1,
      livelinessIntervalMs: embeddedBeatIntervalMs(config.propletAliveTimeoutMs),
      metricsIntervalMs: INTERVAL_MS,
      maxTasks: 4,
      maxMemoryBytes: 256 * 1024 * 1024,
      maxDownloadBytes: 100 * 1024 * 1024,
      logLevel: config.logLevel,
    };
    const proplet = new Proplet(propletConfig, logger.child({ embeddedProplet: i }));
    await proplet.start();
    proplets.push(proplet);
  }
  return proplets;
}
