import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { attachRoute, waitUntilDrained } from '../../src/mqtt/ingress-session.ts';
import { createLogger } from '../../src/observability/logger.ts';

const logger = createLogger('silent');

/** Just enough of a client for attachRoute: it only installs handleMessage. */
function fakeClient(): MqttClient {
  return {} as MqttClient;
}

function deliver(client: MqttClient, topic: string): Promise<Error | undefined> {
  return new Promise((resolve) => {
    client.handleMessage(
      { cmd: 'publish', topic, payload: Buffer.from('{}'), qos: 1, dup: false, retain: false },
      (error) => resolve(error ?? undefined),
    );
  });
}

describe('attachRoute', () => {
  it('acknowledges a message only after it was routed, retrying while routing fails', async () => {
    const client = fakeClient();
    let calls = 0;
    attachRoute(
      client,
      () => {
        calls++;
        return calls < 3 ? Promise.reject(new Error('redis is down')) : Promise.resolve();
      },
      () => false,
      logger,
    );
    assert.equal(await deliver(client, 't'), undefined);
    assert.equal(calls, 3);
  });

  it('leaves a message unacknowledged when the client closes while routing fails', async () => {
    const client = fakeClient();
    let closing = false;
    attachRoute(
      client,
      () => {
        closing = true;
        return Promise.reject(new Error('redis is down'));
      },
      () => closing,
      logger,
    );
    assert.match(String(await deliver(client, 't')), /redis is down/);
  });
});

describe('waitUntilDrained', () => {
  it('does not call a session drained while a slow message is still being routed', async () => {
    const client = fakeClient();
    let routed = false;
    const activity = attachRoute(
      client,
      async () => {
        await sleep(300);
        routed = true;
      },
      () => false,
      logger,
    );
    const acknowledged = deliver(client, 't');
    assert.equal(await waitUntilDrained(activity, 100, 5_000, () => false), true);
    assert.equal(routed, true);
    await acknowledged;
  });

  it('gives up after its limit, or when told to', async () => {
    const client = fakeClient();
    // A route that never finishes (and holds no timer, so the test can end).
    const activity = attachRoute(
      client,
      () => new Promise<void>(() => undefined),
      () => true,
      logger,
    );
    void deliver(client, 't');
    assert.equal(await waitUntilDrained(activity, 50, 200, () => false), false);
    assert.equal(await waitUntilDrained(activity, 50, 5_000, () => true), false);
  });
});
