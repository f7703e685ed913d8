import { setTimeout as sleep } from 'node:timers/promises';
import { closeClient, connectIngress, waitConnected } from '../src/mqtt/client.ts';
import { HeartbeatBatcher } from '../src/mqtt/heartbeat-batcher.ts';
import { PropletMessageRouter } from '../src/mqtt/proplet-message-router.ts';
import { channelBase, ingressSubscription } from '../src/mqtt/topics.ts';
import type { Resources } from '../src/resources.ts';
import type { RoleHandle } from '../src/role.ts';

const LONGEST_ENQUEUE_RETRY_MS = 2_000;
/** Up to 500 heartbeats per job, sent at most 50 ms after the first; 100,000 kept while Redis is away. */
const HEARTBEAT_BATCH = { maxBatch: 500, maxDelayMs: 50, maxBuffered: 100_000 };

/**
 * Subscribes to the proplet topics and turns every message into a queue job. The broker's acknowledgement
 * is sent only once the job is in Redis, one message at a time: while Redis is down, messages wait in the
 * broker's session instead of being lost.
 */
export async function startIngress(resources: Resources): Promise<RoleHandle> {
  const { config } = resources;
  const logger = resources.logger.child({ role: 'ingress' });
  const base = channelBase(config.mqtt.tenantId, config.mqtt.channelId);
  const heartbeats = new HeartbeatBatcher({
    ...HEARTBEAT_BATCH,
    flush: (beats) => resources.queues.enqueue('proplet-liveness', 'heartbeats', { beats }),
    logger,
  });
  const router = new PropletMessageRouter(base, resources.queues, heartbeats, logger);
  const client = connectIngress(resources.mqttSettings, logger);
  let stopping = false;

  client.handleMessage = (packet, done) => {
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const receivedAt = Date.now();
    void (async () => {
      for (let delay = 100; ; delay = Math.min(delay * 2, LONGEST_ENQUEUE_RETRY_MS)) {
        try {
          await router.route(packet.topic, payload, receivedAt);
          done();
          return;
        } catch (error) {
          if (stopping) {
            // Unacknowledged: the broker delivers it again to this session after the restart.
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

  await waitConnected(client, config.mqtt.timeoutMs);
  const subscription = ingressSubscription(base, config.mqtt.shareGroup);
  // At QoS 2, mqtt.js acknowledges (PUBREC) before handing the message over; at QoS 1 the acknowledgement
  // waits for the job to be queued. So the ingress subscribes at QoS 1 at most.
  await client.subscribeAsync(subscription, { qos: Math.min(config.mqtt.qos, 1) as 0 | 1 });
  logger.info({ subscription }, 'ingress subscribed');

  return {
    name: 'ingress',
    stop: async () => {
      stopping = true;
      await closeClient(client);
      await heartbeats.drain();
    },
  };
}
