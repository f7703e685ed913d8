import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt from 'mqtt';
import { loadConfig } from '../../src/config/config.ts';
import { loadPropletConfig } from '../../src/config/proplet-config.ts';
import { TaskState } from '../../src/domain/task-state.ts';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../src/embedded/mqtt-broker.ts';
import { startManager, type RunningManager } from '../../src/manager.ts';
import { ingressClientId, waitConnected } from '../../src/mqtt/client.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { Proplet } from '../../src/proplet/proplet.ts';
import { freePort } from '../support/free-port.ts';
import {
  request,
  startTestManager,
  type TestManager,
  untilPropletAlive,
} from '../support/manager-harness.ts';
import { waitFor } from '../support/wait.ts';

/**
 * The manager and a reference proplet over the embedded broker, which speaks MQTT 3.1.1 only: plain
 * subscriptions instead of shared ones, and sessions without expiry.
 */

const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
const ADD = readFileSync(new URL('../../examples/add.wasm', import.meta.url)).toString('base64');

let broker: EmbeddedBroker;
let harness: TestManager;
let link: CuttableLink;
let proplet: Proplet;
let second: RunningManager | undefined;

const api = (method: string, path: string, body?: unknown) => request(harness.baseUrl, method, path, body);

async function publishDiscovery(propletId: string, os: string): Promise<void> {
  const publisher = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 }, false);
  try {
    const base = `m/${harness.config.mqtt.tenantId}/c/${harness.config.mqtt.channelId}`;
    await publisher.publishAsync(
      `${base}/control/proplet/create`,
      JSON.stringify({ proplet_id: propletId, namespace: 'default', metadata: { os } }),
      { qos: 1 },
    );
  } finally {
    await publisher.endAsync();
  }
}

/**
 * A TCP relay to the broker whose connections the test can cut, as when a proplet's host loses the network:
 * the broker sees the socket die without a DISCONNECT, and the proplet cannot reconnect.
 */
interface CuttableLink {
  url: string;
  cut(): Promise<void>;
}

async function cuttableLink(port: number): Promise<CuttableLink> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('error', () => socket.destroy());
    socket.once('close', () => sockets.delete(socket));
  };
  const server: Server = createServer((inbound) => {
    const outbound = connect(port, '127.0.0.1');
    track(inbound);
    track(outbound);
    inbound.pipe(outbound).pipe(inbound);
    inbound.once('close', () => outbound.destroy());
    outbound.once('close', () => inbound.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port: relayPort } = server.address() as { port: number };
  return {
    url: `mqtt://127.0.0.1:${relayPort}`,
    cut: async () => {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

async function runToEnd(body: Record<string, unknown>): Promise<Record<string, any>> {
  const created = await api('POST', '/tasks', body);
  assert.equal(created.status, 201);
  assert.equal((await api('POST', `/tasks/${created.body.id}/start`)).status, 200);
  return waitFor(
    async () => {
      const task = (await api('GET', `/tasks/${created.body.id}`)).body;
      return task.state === TaskState.Completed || task.state === TaskState.Failed ? task : undefined;
    },
    `${String(body.name)} finished`,
    20_000,
  );
}

before(async () => {
  // Not 1883, where the shared test broker (Mosquitto) may listen.
  broker = await startEmbeddedBroker(logger, { preferredPort: await freePort() });
  harness = await startTestManager({
    MANAGER_MQTT_ADDRESS: broker.url,
    MANAGER_MQTT_PROTOCOL_VERSION: '4',
    // Far longer than the test waits: a proplet can only turn not alive through its last will.
    MANAGER_PROPLET_ALIVE_TIMEOUT: '60s',
  });
  link = await cuttableLink(broker.port);
  const config = loadPropletConfig(
    {
      PROPLET_TENANT_ID: harness.config.mqtt.tenantId,
      PROPLET_CHANNEL_ID: harness.config.mqtt.channelId,
      PROPLET_MQTT_ADDRESS: link.url,
      PROPLET_LIVELINESS_INTERVAL: '200ms',
    },
    randomUUID,
  );
  proplet = new Proplet(config, logger);
  await proplet.start();
  await untilPropletAlive(harness.baseUrl, proplet.id);
});

after(async () => {
  await proplet?.stop();
  await second?.stop();
  await link?.cut();
  await harness?.close();
  await broker?.close();
});

describe('the manager over MQTT 3.1.1 (embedded aedes broker)', () => {
  it('runs add(2, 3) on a reference proplet and records "5"', async () => {
    assert.equal(harness.config.mqtt.protocolVersion, 4);
    const done = await runToEnd({ name: 'add', file: ADD, inputs: [2, 3] });
    assert.equal(done.state, TaskState.Completed);
    assert.equal(done.results, '5');
    assert.equal(done.proplet_id, proplet.id);
  });

  it('keeps a discovery published while the ingress was down (persistent session)', async () => {
    await harness.manager.stopRole('ingress');
    const latecomer = randomUUID();
    await publishDiscovery(latecomer, 'away');
    await sleep(200);
    assert.equal((await api('GET', `/proplets/${latecomer}`)).status, 404);
    await harness.manager.startRole('ingress');
    const view = await waitFor(async () => {
      const response = await api('GET', `/proplets/${latecomer}`);
      return response.status === 200 ? response.body : undefined;
    }, 'registration from the kept discovery');
    assert.equal(view.metadata.os, 'away');
  });

  it('adopts and discards the session an ingress instance left behind', async () => {
    // A second instance (slot 1) stands for one restarted under a new name: against the advice of the
    // start-up warning, but what happens when the old one's lease had not lapsed yet.
    second = await startManager(
      {
        ...harness.config,
        roles: loadConfig({ MANAGER_ROLES: 'ingress' }, '/nonexistent').roles,
        instanceId: `${harness.config.instanceId}-b`,
      },
      logger,
    );
    const slots = harness.manager.resources.ingressSlots(1);
    assert.deepEqual((await slots.used()).sort(), [0, 1]);
    await second.stopRole('ingress');
    // Kept for slot 1's session too, which has plain subscriptions and so a copy of every message.
    const latecomer = randomUUID();
    await publishDiscovery(latecomer, 'meanwhile');

    await waitFor(async () => !(await slots.used()).includes(1), 'slot 1 adopted and retired', 20_000);
    // Routed from the adopted session; registered once its queue job ran.
    const view = await waitFor(async () => {
      const response = await api('GET', `/proplets/${latecomer}`);
      return response.status === 200 ? response.body : undefined;
    }, 'registration from the adopted session');
    assert.equal(view.metadata.os, 'meanwhile');
    const probe = mqtt.connect(broker.url, {
      clientId: ingressClientId(harness.config.mqtt.entityId, 1),
      clean: false,
      reconnectPeriod: 0,
    });
    const { sessionPresent } = await waitConnected(probe, 5_000).finally(() => probe.endAsync());
    assert.equal(sessionPresent, false);
  });

  it('marks a proplet not alive through its last will when its connection dies', async () => {
    assert.equal((await api('GET', `/proplets/${proplet.id}`)).body.alive, true);
    await link.cut();
    const view = await waitFor(
      async () => {
        const body = (await api('GET', `/proplets/${proplet.id}`)).body;
        return body?.alive === false ? body : undefined;
      },
      'proplet not alive after its last will',
      10_000,
    );
    assert.equal(view.alive, false);
  });
});
