import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt, { type MqttClient } from 'mqtt';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../src/embedded/mqtt-broker.ts';
import {
  closeAndDiscardSession,
  closeClient,
  connectIngress,
  ingressClientId,
  waitConnected,
  type MqttSettings,
} from '../../src/mqtt/client.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { freePort } from '../support/free-port.ts';
import { uniqueSuffix } from '../support/test-database.ts';

const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
const ROOT = new URL('../..', import.meta.url);

let broker: EmbeddedBroker;
const clients: MqttClient[] = [];

/** An MQTT 3.1.1 client as mqtt.js makes one by default; closed after the tests. */
async function client(options: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const connected = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0, ...options }, false);
  clients.push(connected);
  return connected;
}

function settings(): MqttSettings {
  const id = uniqueSuffix();
  return {
    url: broker.url,
    protocolVersion: 4,
    qos: 1,
    tenantId: `tenant-${id}`,
    channelId: `channel-${id}`,
    entityId: `manager-${id}`,
    apiKey: '',
    timeoutMs: 5_000,
    shareGroup: 'propeller-ingress',
    instanceId: `test-${id}`,
  };
}

/** The next message on `topic`, or undefined when none comes within `timeoutMs`. */
function nextMessage(subscriber: MqttClient, topic: string, timeoutMs = 2_000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      subscriber.off('message', onMessage);
      resolve(undefined);
    }, timeoutMs);
    const onMessage = (received: string, payload: Buffer) => {
      if (received !== topic) return;
      clearTimeout(timer);
      subscriber.off('message', onMessage);
      resolve(payload.toString());
    };
    subscriber.on('message', onMessage);
  });
}

async function isFree(port: number): Promise<boolean> {
  const server = createServer();
  try {
    await listenOn(server, port);
    return true;
  } catch {
    return false;
  } finally {
    if (server.listening) await new Promise((resolve) => server.close(resolve));
  }
}

async function listenOn(server: Server, port: number): Promise<void> {
  const listening = once(server, 'listening');
  server.listen(port, '127.0.0.1');
  await listening;
}

before(async () => {
  broker = await startEmbeddedBroker(logger, { preferredPort: await freePort() });
});

after(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)));
  await broker.close();
});

describe('embedded MQTT broker (aedes)', () => {
  it('listens on 1883 when it is free, and on another port when it is taken', async () => {
    const wasFree = await isFree(1883);
    const started = await startEmbeddedBroker(logger);
    try {
      if (wasFree) assert.equal(started.port, 1883);
      else assert.notEqual(started.port, 1883);
      assert.equal(started.url, `mqtt://127.0.0.1:${started.port}`);
      const probe = await mqtt.connectAsync(started.url, { reconnectPeriod: 0 }, false);
      await probe.endAsync();
    } finally {
      await started.close();
    }
  });

  it('falls back to a free port when the preferred one is in use', async () => {
    const holder = createServer();
    await listenOn(holder, 0);
    const taken = (holder.address() as { port: number }).port;
    try {
      const started = await startEmbeddedBroker(logger, { preferredPort: taken });
      try {
        assert.notEqual(started.port, taken);
        assert.ok(started.port > 0);
      } finally {
        await started.close();
      }
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it('takes the preferred port when it is free', async () => {
    const port = await freePort();
    const started = await startEmbeddedBroker(logger, { preferredPort: port });
    try {
      assert.equal(started.port, port);
      assert.equal(started.url, `mqtt://127.0.0.1:${port}`);
    } finally {
      await started.close();
    }
  });

  it('refuses MQTT 5, which aedes does not speak', async () => {
    await assert.rejects(
      mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 2_000 }, false),
    );
  });

  it('delivers a QoS 1 message to a subscriber', async () => {
    const topic = `round-trip/${uniqueSuffix()}`;
    const subscriber = await client();
    await subscriber.subscribeAsync(topic, { qos: 1 });
    const received = nextMessage(subscriber, topic);
    const publisher = await client();
    await publisher.publishAsync(topic, 'hello', { qos: 1 });
    assert.equal(await received, 'hello');
  });

  it('keeps a QoS 1 message for a persistent session while its client is away', async () => {
    const topic = `persistent/${uniqueSuffix()}`;
    const clientId = `persistent-${uniqueSuffix()}`;
    const first = await client({ clientId, clean: false });
    await first.subscribeAsync(topic, { qos: 1 });
    await first.endAsync();

    const publisher = await client();
    await publisher.publishAsync(topic, 'while away', { qos: 1 });

    // Listening before the CONNACK arrives: the broker sends the kept message right after it.
    const back = mqtt.connect(broker.url, { clientId, clean: false, reconnectPeriod: 0 });
    clients.push(back);
    const received = nextMessage(back, topic);
    const { sessionPresent } = await waitConnected(back, 5_000);
    assert.equal(sessionPresent, true);
    assert.equal(await received, 'while away');
  });

  it('discards an ingress session on MQTT 3.1.1 with closeAndDiscardSession', async () => {
    const mqttSettings = settings();
    const topic = `m/${mqttSettings.tenantId}/c/${mqttSettings.channelId}/control/proplet/results`;
    const publisher = await client();

    const ingress = connectIngress(mqttSettings, 0, logger);
    assert.equal((await waitConnected(ingress, 5_000)).sessionPresent, false);
    await ingress.subscribeAsync(topic, { qos: 1 });
    await closeClient(ingress);
    await publisher.publishAsync(topic, 'kept', { qos: 1 });

    // The session kept the message (so there was something to discard) ...
    const resumed = connectIngress(mqttSettings, 0, logger);
    const kept = nextMessage(resumed, topic);
    assert.equal((await waitConnected(resumed, 5_000)).sessionPresent, true);
    assert.equal(await kept, 'kept');

    await closeAndDiscardSession(resumed, mqttSettings);
    await publisher.publishAsync(topic, 'after the discard', { qos: 1 });

    // ... and is gone now: no subscription, so nothing was queued, and no session to resume.
    const later = mqtt.connect(broker.url, {
      clientId: ingressClientId(mqttSettings.entityId, 0),
      clean: false,
      reconnectPeriod: 0,
    });
    clients.push(later);
    const nothing = nextMessage(later, topic, 500);
    assert.equal((await waitConnected(later, 5_000)).sessionPresent, false);
    assert.equal(await nothing, undefined);
  });

  it('frees its port when closed', async () => {
    const started = await startEmbeddedBroker(logger, { preferredPort: await freePort() });
    const connected = await mqtt.connectAsync(started.url, { reconnectPeriod: 0 }, false);
    const closed = new Promise<void>((resolve) => connected.once('close', () => resolve()));
    await started.close();
    await closed;
    assert.equal(await isFree(started.port), true);
    await connected.endAsync(true);
  });

  it('lets the process exit once closed, clients still connected', async () => {
    // A child process of its own: if a socket or timer stayed open, it would not exit by itself.
    const script = `
      import { connect } from 'node:net';
      import mqtt from 'mqtt';
      import { startEmbeddedBroker } from './src/embedded/mqtt-broker.ts';
      import { createLogger } from './src/observability/logger.ts';
      const broker = await startEmbeddedBroker(createLogger('silent'), { preferredPort: 0 });
      const subscriber = await mqtt.connectAsync(broker.url, { clientId: 'stays', clean: false, reconnectPeriod: 0 });
      await subscriber.subscribeAsync('t', { qos: 1 });
      subscriber.on('error', () => undefined);
      // A connection that never sends CONNECT is not a client of the broker yet.
      const silent = connect(broker.port, '127.0.0.1');
      silent.on('error', () => undefined);
      await new Promise((resolve) => silent.once('connect', resolve));
      await broker.close();
      process.stdout.write('closed');
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = once(child, 'exit');
    const waiting = new AbortController();
    const deadline = sleep(15_000, 'timeout' as const, { signal: waiting.signal }).catch(() => undefined);
    const outcome = await Promise.race([exited, deadline]);
    waiting.abort();
    if (outcome === 'timeout') {
      child.kill('SIGKILL');
      await exited;
      assert.fail(`the process did not exit after the broker closed (output: ${output})`);
    }
    assert.equal(output, 'closed');
    assert.deepEqual(outcome, [0, null]);
  });
});
