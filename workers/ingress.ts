import { randomUUID } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { closeAndDiscardSession, closeClient, connectIngress, waitConnected } from '../src/mqtt/client.ts';
import { HeartbeatBatcher } from '../src/mqtt/heartbeat-batcher.ts';
import { attachRoute, waitUntilQuiet } from '../src/mqtt/ingress-session.ts';
import { PropletMessageRouter } from '../src/mqtt/proplet-message-router.ts';
import { channelBase, ingressSubscription } from '../src/mqtt/topics.ts';
import { IngressSlots } from '../src/redis/ingress-slots.ts';
import type { Resources } from '../src/resources.ts';
import type { RoleHandle } from '../src/role.ts';

/** Up to 500 heartbeats per job, sent at most 50 ms after the first; 100,000 kept while Redis is away. */
const HEARTBEAT_BATCH = { maxBatch: 500, maxDelayMs: 50, maxBuffered: 100_000 };
/** A slot lease lapses 15 s after its holder stopped renewing it (every 5 s). */
const SLOT_LEASE_MS = 15_000;
/** How often a running ingress looks for sessions left behind by instances that are gone. */
const ADOPT_EVERY_MS = 5_000;
/** An adopted session is drained once no message has come for this long. */
const DRAINED_AFTER_QUIET_MS = 1_000;

/**
 * Subscribes to the proplet topics and turns every message into a queue job, acknowledged to the broker
 * only once the job is in Redis.
 *
 * Several instances share one MQTT 5 shared subscription, each with a persistent session. A broker keeps
 * sending a share of the messages to a disconnected member's session, so an instance that is gone for good
 * (scaled down, or replaced under a new name) would strand them. Hence the slots: each instance holds a
 * lease on a slot, and its client id (so its session) is the slot's. A restarted instance takes the lowest
 * free slot and resumes a session left behind; and every running instance adopts the sessions of lapsed
 * slots: it resumes each one, stops its subscription, routes what it held, and has the broker delete it.
 */
export async function startIngress(resources: Resources): Promise<RoleHandle> {
  const { config } = resources;
  const logger = resources.logger.child({ role: 'ingress' });
  const base = channelBase(config.mqtt.tenantId, config.mqtt.channelId);
  const subscription = ingressSubscription(base, config.mqtt.shareGroup);
  const heartbeats = new HeartbeatBatcher({
    ...HEARTBEAT_BATCH,
    flush: (beats) => resources.queues.enqueue('proplet-liveness', 'heartbeats', { beats }),
    logger,
  });
  const router = new PropletMessageRouter(base, resources.queues, heartbeats, logger);
  const route = (topic: string, payload: Buffer, receivedAt: number) =>
    router.route(topic, payload, receivedAt);
  const slots = new IngressSlots(resources.redis, config.queuePrefix, SLOT_LEASE_MS);
  const token = randomUUID();
  let stopping = false;
  const isStopping = () => stopping;

  const openSession = async (slot: number): Promise<MqttClient> => {
    const client = connectIngress(resources.mqttSettings, slot, logger);
    attachRoute(client, route, isStopping, logger);
    try {
      await waitConnected(client, config.mqtt.timeoutMs);
      // At QoS 2, mqtt.js acknowledges (PUBREC) before handing the message over; at QoS 1 the
      // acknowledgement waits for the job to be queued. So the ingress subscribes at QoS 1 at most.
      await client.subscribeAsync(subscription, { qos: Math.min(config.mqtt.qos, 1) as 0 | 1 });
    } catch (error) {
      client.end(true);
      throw error;
    }
    logger.info({ subscription, slot }, 'ingress subscribed');
    return client;
  };

  let slot = await slots.claimLowest(token);
  let client: MqttClient;
  try {
    client = await openSession(slot);
  } catch (error) {
    await slots.release(slot, token);
    throw error;
  }

  /** Keeps the lease; if it was lost (this process stalled past it), moves to a free slot. */
  const renew = async () => {
    if (await slots.renew(slot, token)) return;
    logger.error({ slot }, 'ingress slot lease lost: moving to a free slot');
    client.end(true);
    slot = await slots.claimLowest(token);
    client = await openSession(slot);
  };

  const adopt = async (orphan: number) => {
    if (!(await slots.claim(orphan, token))) return;
    const log = logger.child({ adoptedSlot: orphan });
    const adopted = connectIngress(resources.mqttSettings, orphan, log);
    attachRoute(adopted, route, isStopping, log);
    try {
      const { sessionPresent } = await waitConnected(adopted, config.mqtt.timeoutMs);
      if (sessionPresent) {
        // No new message goes to the session from now on; the ones it kept arrive and are routed.
        await adopted.unsubscribeAsync(subscription);
        await waitUntilQuiet(adopted, DRAINED_AFTER_QUIET_MS, SLOT_LEASE_MS / 2);
      }
      if (stopping) {
        // Messages may be left unacknowledged in it: keep the session for the next adopter.
        await closeClient(adopted);
        await slots.release(orphan, token);
        return;
      }
      await closeAndDiscardSession(adopted);
      await slots.retire(orphan, token);
      log.info({ sessionPresent }, 'session of a departed ingress drained and retired');
    } catch (error) {
      adopted.end(true);
      await slots.release(orphan, token);
      log.warn({ err: error }, 'could not adopt the session of a departed ingress; will try again');
    }
  };

  let ticking: Promise<void> | undefined;
  const tick = async () => {
    try {
      await renew();
      for (const orphan of await slots.orphans()) if (!stopping) await adopt(orphan);
    } catch (error) {
      logger.warn({ err: error }, 'ingress slot upkeep failed; will try again');
    }
  };
  const upkeep = setInterval(
    () => {
      if (ticking || stopping) return;
      ticking = tick().finally(() => {
        ticking = undefined;
      });
    },
    Math.min(ADOPT_EVERY_MS, SLOT_LEASE_MS / 3),
  );

  return {
    name: 'ingress',
    stop: async () => {
      stopping = true;
      clearInterval(upkeep);
      await ticking;
      await closeClient(client);
      await heartbeats.drain();
      // The session stays in the broker for whoever takes the slot next: this instance after a restart, or
      // another one adopting it.
      await slots.release(slot, token).catch(() => undefined);
    },
  };
}
