import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import mqtt from 'mqtt';
import { TEST_MQTT_URL } from '../../test/support/test-database.ts';
import { waitFor } from '../../test/support/wait.ts';
import { ratePerSecond } from '../lib/stats.ts';
import type { Scenario } from '../lib/scenario.ts';

/**
 * Messages published but not yet received, at most: the stock Mosquitto queues at most 1,000 messages for a
 * subscriber (max_queued_messages) and drops the rest, so an unbounded burst would measure drops.
 */
const WINDOW = 500;

/** The broker's limit: QoS-1 messages from one publisher client to one subscriber client, both here. */
export const rawMqtt: Scenario = {
  name: 'raw-mqtt',
  summary: `Mosquitto alone: QoS-1 publish → receive between two clients, at most ${WINDOW} in flight`,
  async run(context) {
    const messages = context.size(200_000, 10_000);
    const topic = `bench/raw/${randomUUID()}`;
    const options = { reconnectPeriod: 0, clean: true };
    const subscriber = await mqtt.connectAsync(TEST_MQTT_URL, {
      ...options,
      clientId: `bench-sub-${randomUUID()}`,
    });
    context.defer(() => subscriber.endAsync());
    const publisher = await mqtt.connectAsync(TEST_MQTT_URL, {
      ...options,
      clientId: `bench-pub-${randomUUID()}`,
    });
    context.defer(() => publisher.endAsync());
    let received = 0;
    // Woken by the subscriber as soon as the window has room again (polling would idle the broker).
    let room: (() => void) | undefined;
    let sent = 0;
    subscriber.on('message', () => {
      received++;
      if (room && sent - received < WINDOW / 2) {
        room();
        room = undefined;
      }
    });
    await subscriber.subscribeAsync(topic, { qos: 1 });
    const payload = Buffer.from(
      JSON.stringify({ proplet_id: randomUUID(), status: 'alive', namespace: 'default' }),
    );
    let acknowledged = 0;
    const began = performance.now();
    for (; sent < messages; sent++) {
      if (sent - received >= WINDOW) {
        const caughtUp = new Promise<void>((resolve) => (room = resolve));
        const stalled = setTimeout(() => room?.(), 30_000);
        await caughtUp;
        clearTimeout(stalled);
        if (sent - received >= WINDOW) break; // nothing arrives any more: counted as not received below
      }
      publisher.publish(topic, payload, { qos: 1 }, (error) => {
        if (!error) acknowledged++;
      });
    }
    await waitFor(
      () => received >= messages && acknowledged >= messages,
      'every message received',
      60_000,
    ).catch(() => undefined);
    const finished = performance.now();
    const failures: string[] = [];
    if (received < messages) failures.push(`${messages - received} of ${messages} messages not received`);
    if (acknowledged < messages)
      failures.push(`${messages - acknowledged} of ${messages} publishes not acknowledged`);
    return {
      figures: [
        {
          key: 'messagesPerSecond',
          label: 'QoS-1 publish→receive msg/s',
          value: ratePerSecond(received, finished - began),
          unit: 'msg/s',
        },
      ],
      failures,
      notes: [`${messages} messages of ${payload.length} bytes (a heartbeat's size)`],
      details: {
        messages,
        window: WINDOW,
        received,
        acknowledged,
        seconds: Math.round(finished - began) / 1000,
      },
    };
  },
};
