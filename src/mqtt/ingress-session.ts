import { setTimeout as sleep } from 'node:timers/promises';
import type { MqttClient } from 'mqtt';
import type { Logger } from '../observability/logger.ts';

const LONGEST_ENQUEUE_RETRY_MS = 2_000;

export type Route = (topic: string, payload: Buffer, receivedAt: number) => Promise<void>;

/**
 * Hands each message to `route` and acknowledges it to the broker only once `route` succeeded, one message
 * at a time (mqtt.js waits for the callback before the next). While `route` fails (Redis away) it is retried,
 * so messages wait in the broker session instead of being lost; once the client is closing, a message is
 * left unacknowledged, and the broker delivers it again to whoever resumes the session.
 */
export function attachRoute(
  client: MqttClient,
  route: Route,
  isClosing: () => boolean,
  logger: Logger,
): void {
  client.handleMessage = (packet, done) => {
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const receivedAt = Date.now();
    void (async () => {
      for (let delay = 100; ; delay = Math.min(delay * 2, LONGEST_ENQUEUE_RETRY_MS)) {
        try {
          await route(packet.topic, payload, receivedAt);
          done();
          return;
        } catch (error) {
          if (isClosing()) {
            done(error as Error);
            return;
          }
          logger.warn(
            { topic: packet.topic, err: error, retryInMs: delay },
            'could not queue an MQTT message; retrying',
          );
          await sleep(delay);
        }
      }
    })();
  };
}

/** Resolves once no message has arrived on the client for `quietMs`. */
export async function waitUntilQuiet(client: MqttClient, quietMs: number, maxMs: number): Promise<void> {
  let last = Date.now();
  const onPacket = (packet: { cmd: string }) => {
    if (packet.cmd === 'publish') last = Date.now();
  };
  client.on('packetreceive', onPacket);
  const started = Date.now();
  try {
    while (Date.now() - last < quietMs && Date.now() - started < maxMs) await sleep(quietMs / 4);
  } finally {
    client.off('packetreceive', onPacket);
  }
}
