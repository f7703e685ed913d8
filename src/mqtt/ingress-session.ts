import { setTimeout as sleep } from 'node:timers/promises';
import type { MqttClient } from 'mqtt';
import type { Logger } from '../observability/logger.ts';
import type { UserProperties } from '../observability/message-tracing.ts';

const LONGEST_ENQUEUE_RETRY_MS = 2_000;

/** `userProperties` are the message's MQTT 5 user properties (a trace context, say); none on MQTT 3.1.1. */
export type Route = (
  topic: string,
  payload: Buffer,
  receivedAt: number,
  userProperties?: UserProperties,
) => Promise<void>;

/** Messages handed over but not yet acknowledged, and when the last one came or went. */
export interface RouteActivity {
  pending: number;
  lastActivityAt: number;
}

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
): RouteActivity {
  const activity: RouteActivity = { pending: 0, lastActivityAt: Date.now() };
  client.handleMessage = (packet, done) => {
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const receivedAt = Date.now();
    const userProperties = packet.properties?.userProperties;
    activity.pending++;
    activity.lastActivityAt = receivedAt;
    const finish = (error?: Error) => {
      activity.pending--;
      activity.lastActivityAt = Date.now();
      done(error);
    };
    void (async () => {
      for (let delay = 100; ; delay = Math.min(delay * 2, LONGEST_ENQUEUE_RETRY_MS)) {
        try {
          await route(packet.topic, payload, receivedAt, userProperties);
          finish();
          return;
        } catch (error) {
          if (isClosing()) {
            finish(error as Error);
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
  return activity;
}

/**
 * Waits until every message handed over was acknowledged and none came for `quietMs`: the broker has sent
 * all the session held. False if that did not happen within `maxMs`, or `abandon` says to stop waiting.
 */
export async function waitUntilDrained(
  activity: RouteActivity,
  quietMs: number,
  maxMs: number,
  abandon: () => boolean,
): Promise<boolean> {
  const started = Date.now();
  const drained = () => activity.pending === 0 && Date.now() - activity.lastActivityAt >= quietMs;
  while (!drained()) {
    if (Date.now() - started >= maxMs || abandon()) return false;
    await sleep(quietMs / 4);
  }
  return true;
}
