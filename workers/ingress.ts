import { randomUUID } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import {
  closeAndDiscardSession,
  closeClient,
  connectIngress,
  connectLiveIngress,
  waitConnected,
} from '../src/mqtt/client.ts';
import { HeartbeatBatcher } from '../src/mqtt/heartbeat-batcher.ts';
import { attachRoute, waitUntilDrained, type Route } from '../src/mqtt/ingress-session.ts';
import { MetricsBatcher } from '../src/mqtt/metrics-batcher.ts';
import { PropletMessageRouter } from '../src/mqtt/proplet-message-router.ts';
import { channelBase, ingressSubscriptions, legacyIngressSubscription } from '../src/mqtt/topics.ts';
import type { Resources } from '../src/resources.ts';
import type { RoleHandle } from '../src/role.ts';

/** Up to 500 heartbeats per job, sent at most 50 ms after the first; 100,000 kept while Redis is away. */
const HEARTBEAT_BATCH = { maxBatch: 500, maxDelayMs: 50, maxBuffered: 100_000 };
/** Samples are larger than beats and nobody waits on them: smaller jobs, sent up to 200 ms late. */
const METRICS_BATCH = { maxBatch: 200, maxDelayMs: 200, maxBuffered: 20_000 };
/** A slot lease lapses 15 s after its holder last renewed it; holders renew every 5 s. */
const SLOT_LEASE_MS = 15_000;
const RENEW_EVERY_MS = SLOT_LEASE_MS / 3;
/**
 * An instance that could not renew for this long stops using its slot's client id before the lease can
 * lapse, so two clients never take the id (and the session) from each other.
 */
const FENCE_AFTER_MS = (SLOT_LEASE_MS * 2) / 3;
/** How often a running ingress looks for a session left behind by an instance that is gone. */
const ADOPT_EVERY_MS = 5_000;
/** An adopted session is drained once nothing is pending and nothing came for this long. */
const DRAINED_AFTER_QUIET_MS = 1_000;
/**
 * At start-up, the slots looked at whether Redis remembers using them or not: Redis may have restarted
 * without its data while the broker kept the sessions.
 */
const PROBED_SLOTS = 16;
const LONGEST_DRAIN_MS = 60_000;
/** Sessions adopted side by side, each with a broker connection of its own. */
const ADOPTIONS_AT_ONCE = 8;

/**
 * Subscribes to the proplet topics and turns every message into a queue job, acknowledged to the broker
 * only once the job is in Redis.
 *
 * Several instances share one MQTT 5 shared subscription, each with MANAGER_INGRESS_SESSIONS persistent
 * sessions (mqtt.js hands one session's messages over one at a time, so several sessions queue several at
 * once). A broker keeps sending a share of the messages to a disconnected member's session, so an instance
 * that is gone for good (scaled down, or replaced under a new name) would strand them. Hence the slots: each
 * session is a lease on a slot, and its client id (so its session) is the slot's. A restarted instance takes
 * the lowest free slots and resumes the sessions left behind; and running instances adopt the sessions of
 * lapsed slots, one at a time: resume it, stop its subscription, route what it held, and have the broker
 * delete it.
 *
 * On MQTT 3.1.1 the subscriptions are plain ones, so only one instance may run; slots and adoption work as
 * above, though an adopted session then holds a copy of every message sent while it was away rather than a
 * share, some of which the running instance had already routed: a second discovery updates the same row,
 * and a second result is ignored once the task is finished.
 */
export async function startIngress(resources: Resources): Promise<RoleHandle> {
  const { config } = resources;
  const logger = resources.logger.child({ role: 'ingress' });
  const base = channelBase(config.mqtt.tenantId, config.mqtt.channelId);
  // MQTT 3.1.1 has no shared subscriptions: a second instance would receive, and queue, every message again.
  const shared = config.mqtt.protocolVersion === 5;
  const subscriptions = ingressSubscriptions(base, config.mqtt.shareGroup, shared);
  const legacySubscription = legacyIngressSubscription(base, config.mqtt.shareGroup, shared);
  if (!shared)
    logger.warn(
      'MQTT 3.1.1 has no shared subscriptions: run only one ingress instance, or every message is handled once per instance',
    );
  // At QoS 2, mqtt.js acknowledges (PUBREC) before handing the message over; at QoS 1 the acknowledgement
  // waits for the job to be queued. So the ingress subscribes at QoS 1 at most.
  const qos = Math.min(config.mqtt.qos, 1) as 0 | 1;
  const heartbeats = new HeartbeatBatcher({
    ...HEARTBEAT_BATCH,
    flush: (beats) => resources.queues.enqueue('proplet-liveness', 'heartbeats', { beats }),
    logger,
  });
  const metrics = new MetricsBatcher({
    ...METRICS_BATCH,
    flush: (samples) => resources.queues.enqueue('metrics', 'samples', samples),
    logger,
  });
  const router = new PropletMessageRouter(
    base,
    resources.queues,
    heartbeats,
    logger,
    metrics,
    config.propletMaxPacketBytes,
    resources.messageTracing,
  );
  const route: Route = (topic, payload, receivedAt, userProperties) =>
    router.route(topic, payload, receivedAt, userProperties);
  const slots = resources.ingressSlots(SLOT_LEASE_MS);
  const token = randomUUID();
  let stopping = false;
  const isStopping = () => stopping;

  /** The slots this instance holds, each with the client using its id (so its session). */
  const held = new Map<number, { client: MqttClient; renewedAt: number }>();
  const sessions = config.ingressSessions;

  const openSession = async (slot: number): Promise<MqttClient> => {
    const client = connectIngress(resources.mqttSettings, slot, logger);
    attachRoute(client, route, isStopping, logger);
    try {
      const { sessionPresent } = await waitConnected(client, config.mqtt.timeoutMs);
      // A session from before heartbeats had a subscription of their own would go on collecting them.
      if (sessionPresent) await client.unsubscribeAsync(legacySubscription);
      await client.subscribeAsync(subscriptions.durable, { qos });
    } catch (error) {
      client.end(true);
      throw error;
    }
    // Mosquitto (2.0.11 here) restores a persistent session after a crash without its shared subscriptions,
    // yet answers that the session is present, so mqtt.js does not subscribe again and every result and
    // discovery would be dropped for want of a subscriber. Subscribing again is harmless: the broker replaces
    // an identical subscription and keeps what the session holds. `resubscribe` makes mqtt.js send it although
    // it believes the client subscribed already. (Without a session, mqtt.js subscribes again by itself.)
    // A new object each time: mqtt.js deletes the flag from the one it is given.
    const again = () =>
      Object.assign(Object.fromEntries(subscriptions.durable.map((topic) => [topic, { qos }])), {
        resubscribe: true,
      });
    client.on('connect', (connack) => {
      if (!connack.sessionPresent || stopping) return;
      client
        .subscribeAsync(again())
        .catch((error: unknown) =>
          logger.warn({ err: error, slot }, 'could not subscribe again after a reconnect'),
        );
    });
    logger.info({ subscriptions: subscriptions.durable, slot }, 'ingress subscribed');
    return client;
  };

  const live = connectLiveIngress(resources.mqttSettings, logger);
  attachRoute(live, route, isStopping, logger);
  try {
    await waitConnected(live, config.mqtt.timeoutMs);
    await live.subscribeAsync(subscriptions.live, { qos });
  } catch (error) {
    live.end(true);
    throw error;
  }

  const takeSlot = async () => {
    const slot = await slots.claimLowest(token);
    try {
      held.set(slot, { client: await openSession(slot), renewedAt: Date.now() });
    } catch (error) {
      await slots.release(slot, token).catch(() => undefined);
      throw error;
    }
  };

  /**
   * Takes slots until this instance holds as many sessions as MANAGER_INGRESS_SESSIONS asks for, connecting
   * them side by side (one after the other, four sessions made start-up seconds slower on a loaded machine).
   */
  const fillSlots = async () => {
    const missing = stopping ? 0 : sessions - held.size;
    const taken = await Promise.allSettled(Array.from({ length: missing }, () => takeSlot()));
    const failed = taken.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
  };

  const letGo = (slot: number, reason: string) => {
    const lane = held.get(slot);
    if (!lane) return;
    logger.error({ slot }, `ingress lets its slot go: ${reason}`);
    // Forced: unacknowledged messages stay in the session for whoever takes the slot next.
    lane.client.end(true);
    held.delete(slot);
  };

  /** Keeps the leases, lets a slot go when its lease cannot be kept, and takes slots again to fill up. */
  const upkeepSlots = async () => {
    for (const [slot, lane] of held) {
      try {
        if (await slots.renew(slot, token)) lane.renewedAt = Date.now();
        else letGo(slot, 'its lease was taken');
      } catch (error) {
        logger.warn({ err: error, slot }, 'could not renew the ingress slot lease');
        if (Date.now() - lane.renewedAt > FENCE_AFTER_MS) letGo(slot, 'its lease could not be renewed');
      }
    }
    if (held.size === sessions) return;
    try {
      await fillSlots();
    } catch (error) {
      if (held.size === 0) live.end(true);
      throw error;
    }
  };

  /** Clients of sessions being adopted, closed at once if the ingress stops meanwhile. */
  const adopting = new Set<MqttClient>();

  const adopt = async (orphan: number) => {
    if (!(await slots.claim(orphan, token))) return;
    const log = logger.child({ adoptedSlot: orphan });
    const adopted = connectIngress(resources.mqttSettings, orphan, log);
    adopting.add(adopted);
    const activity = attachRoute(adopted, route, isStopping, log);
    const keepLease = setInterval(
      () => void slots.renew(orphan, token).catch(() => undefined),
      RENEW_EVERY_MS,
    );
    try {
      const { sessionPresent } = await waitConnected(adopted, config.mqtt.timeoutMs);
      let drained = true;
      if (sessionPresent) {
        // No new message goes to the session from now on; the ones it kept arrive and are routed.
        await adopted.unsubscribeAsync([...subscriptions.durable, legacySubscription]);
        drained = await waitUntilDrained(activity, DRAINED_AFTER_QUIET_MS, LONGEST_DRAIN_MS, isStopping);
      }
      if (!drained || stopping) {
        // Messages may still be in it: keep the session for the next attempt.
        await closeClient(adopted);
        await slots.release(orphan, token);
        return;
      }
      await closeAndDiscardSession(adopted, resources.mqttSettings);
      await slots.retire(orphan, token);
      log.info({ sessionPresent }, 'session of a departed ingress drained and retired');
    } catch (error) {
      adopted.end(true);
      await slots.release(orphan, token).catch(() => undefined);
      log.warn({ err: error }, 'could not adopt the session of a departed ingress; will try again');
    } finally {
      clearInterval(keepLease);
      adopting.delete(adopted);
    }
  };

  let probed = false;
  const adoptOrphans = async () => {
    const orphans = await slots.orphans(probed ? undefined : Math.max(PROBED_SLOTS, 4 * sessions));
    probed = true;
    // All at once: a killed instance leaves one session per slot it held, each waiting out a quiet second.
    for (let from = 0; from < orphans.length && !stopping; from += ADOPTIONS_AT_ONCE)
      await Promise.all(orphans.slice(from, from + ADOPTIONS_AT_ONCE).map(adopt));
  };

  try {
    await fillSlots();
  } catch (error) {
    live.end(true);
    for (const [slot, lane] of held) {
      lane.client.end(true);
      await slots.release(slot, token).catch(() => undefined);
    }
    throw error;
  }

  /** Runs `task` every `everyMs`, never two at once, and never after stop. */
  const running = new Set<Promise<void>>();
  const every = (everyMs: number, what: string, task: () => Promise<void>) => {
    let current: Promise<void> | undefined;
    return setInterval(() => {
      if (current || stopping) return;
      current = task()
        .catch((error: unknown) => logger.warn({ err: error }, `${what} failed; will try again`))
        .finally(() => {
          running.delete(current!);
          current = undefined;
        });
      running.add(current);
    }, everyMs);
  };
  const timers = [
    every(RENEW_EVERY_MS, 'ingress slot upkeep', upkeepSlots),
    every(ADOPT_EVERY_MS, 'adoption', adoptOrphans),
  ];

  return {
    name: 'ingress',
    stop: async () => {
      stopping = true;
      timers.forEach(clearInterval);
      // Unacknowledged messages of a session being adopted stay in it for the next adopter.
      for (const client of adopting) client.end(true);
      await Promise.all(running);
      await closeClient(live);
      await Promise.all([...held.values()].map((lane) => closeClient(lane.client)));
      await Promise.all([heartbeats.drain(), metrics.drain()]);
      // The sessions stay in the broker for whoever takes the slots next: this instance after a restart, or
      // another one adopting them.
      await Promise.all([...held.keys()].map((slot) => slots.release(slot, token).catch(() => undefined)));
    },
  };
}
