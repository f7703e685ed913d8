import { randomBytes } from 'node:crypto';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Config } from '../config/config.ts';
import type { Logger } from '../observability/logger.ts';
import { brokerAddress, brokerRefusal, BrokerRefusedError, type RefusalKind } from './broker-refusal.ts';
import { NotConnectedError } from './not-connected-error.ts';

export type MqttSettings = Config['mqtt'] & { instanceId: string };

/** One day: long enough to ride out any restart of an ingress process, short enough to clean up after it. */
const INGRESS_SESSION_EXPIRY_S = 86_400;

/** The options of every connection the manager makes to the broker; tests use them to act as the manager. */
export function clientOptions(settings: MqttSettings, clientId: string): IClientOptions {
  return {
    clientId,
    // The broker authenticates the manager as upstream does: entity id and API key.
    username: settings.entityId,
    password: settings.apiKey === '' ? undefined : settings.apiKey,
    protocolVersion: settings.protocolVersion,
    reconnectPeriod: 1_000,
    // mqtt.js gives up for good on a refusing CONNACK; a running manager keeps trying instead, so that a
    // broker restarted with the manager's login added late, or busy for a moment, is reached once it agrees.
    // At start-up, waitConnected ends the wait at the first refusal.
    reconnectOnConnackError: true,
    connectTimeout: settings.timeoutMs,
    keepalive: 30,
    ...settings.tls,
  };
}

/**
 * Client for publishing commands. Clean session with a unique id: several scheduler processes can each have
 * one, and nothing needs to survive a restart (the queue keeps undelivered commands).
 */
export function connectPublisher(settings: MqttSettings, logger: Logger): MqttClient {
  const clientId = `${settings.entityId}-pub-${settings.instanceId}-${randomBytes(4).toString('hex')}`;
  return watch(mqtt.connect(settings.url, { ...clientOptions(settings, clientId), clean: true }), logger);
}

/** Client for the ingress's live subscriptions (heartbeats): a clean session, nothing kept while away. */
export function connectLiveIngress(settings: MqttSettings, logger: Logger): MqttClient {
  const clientId = `${settings.entityId}-live-${settings.instanceId}-${randomBytes(4).toString('hex')}`;
  return watch(mqtt.connect(settings.url, { ...clientOptions(settings, clientId), clean: true }), logger);
}

/** The broker keys an ingress's persistent session on this id; the slot comes from IngressSlots. */
export function ingressClientId(entityId: string, slot: number): string {
  return `${entityId}-ingress-${slot}`;
}

/**
 * Client for the ingress: an id of its slot and a persistent session, so the broker keeps messages that
 * arrive while the ingress restarts and hands them over when it (or whoever takes its slot) reconnects.
 * MQTT 3.1.1 has no session expiry: the broker keeps the session until a clean connect under the same id
 * (see closeAndDiscardSession).
 */
export function connectIngress(settings: MqttSettings, slot: number, logger: Logger): MqttClient {
  const clientId = ingressClientId(settings.entityId, slot);
  return watch(
    mqtt.connect(settings.url, {
      ...clientOptions(settings, clientId),
      clean: false,
      ...(settings.protocolVersion === 5
        ? { properties: { sessionExpiryInterval: INGRESS_SESSION_EXPIRY_S } }
        : {}),
      // Subscriptions live in the broker's session; re-subscribing is only needed when it lost the session.
      resubscribe: true,
    }),
    logger,
  );
}

function watch(client: MqttClient, logger: Logger): MqttClient {
  const log = logger.child({ mqttClientId: client.options.clientId });
  client.on('connect', (connack) => log.info({ sessionPresent: connack.sessionPresent }, 'mqtt connected'));
  client.on('reconnect', () => log.debug('mqtt reconnecting'));
  client.on('offline', () => log.warn('mqtt offline'));
  client.on('error', (error) => log.warn({ err: error }, 'mqtt error'));
  return client;
}

/** What to check when the broker says no, by what it refused. */
const REFUSAL_HINTS: Record<RefusalKind, string> = {
  login: 'the manager logs in as MANAGER_ENTITY_ID with the password MANAGER_API_KEY',
  tls: "MANAGER_MQTT_TLS_CA_CERT names the CA of the broker's certificate; MANAGER_MQTT_TLS_CLIENT_CERT and _KEY the manager's own, for a broker that asks for one",
};

/** The error that ends start-up when `error` is the broker's final no; undefined for anything passing. */
function refusedError(broker: string, error: Error): BrokerRefusedError | undefined {
  const refusal = brokerRefusal(error);
  if (!refusal) return undefined;
  return new BrokerRefusedError(
    `the MQTT broker at ${broker} refused the connection: ${refusal.reason} (${REFUSAL_HINTS[refusal.kind]})`,
    { cause: error },
  );
}

/**
 * One connection attempt at start-up, before any role starts, closed at once: a broker that refuses the
 * manager's login or certificate ends start-up here, naming itself and the reason, rather than leaving a
 * scheduler to run with a publisher that can never connect. A broker that does not answer is left to the
 * roles, which wait for it (the ingress) or carry on until it comes (the scheduler), as they always did.
 */
export async function checkBrokerLogin(settings: MqttSettings, timeoutMs: number): Promise<void> {
  const clientId = `${settings.entityId}-check-${settings.instanceId}-${randomBytes(4).toString('hex')}`;
  const probe = mqtt.connect(settings.url, {
    ...clientOptions(settings, clientId),
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: timeoutMs,
  });
  const broker = brokerAddress(probe.options);
  try {
    await new Promise<void>((resolve, reject) => {
      probe.on('error', (error) => {
        const refused = refusedError(broker, error);
        if (refused) reject(refused);
      });
      // Connected, or the one attempt ended some other way (no answer, a network error): nothing refused.
      probe.once('connect', () => resolve());
      probe.once('close', () => resolve());
    });
  } finally {
    probe.end(true);
  }
}

/**
 * Resolves once the client is connected. Rejects with a BrokerRefusedError as soon as the broker refuses
 * the login or TLS fails to verify (waiting longer would not help), and otherwise after the timeout. Says
 * whether the broker still had the client's session (undefined when the client was connected already).
 */
export function waitConnected(client: MqttClient, timeoutMs: number): Promise<{ sessionPresent?: boolean }> {
  if (client.connected) return Promise.resolve({});
  const broker = brokerAddress(client.options);
  return new Promise((resolve, reject) => {
    let lastError: Error | undefined;
    const settle = () => {
      clearTimeout(timer);
      client.off('connect', onConnect);
      client.off('end', onEnd);
      client.off('error', onError);
    };
    const timer = setTimeout(() => {
      settle();
      const last = lastError ? ` (last error: ${lastError.message})` : '';
      reject(new Error(`could not connect to the MQTT broker at ${broker} within ${timeoutMs} ms${last}`));
    }, timeoutMs);
    const onError = (error: Error) => {
      lastError = error;
      const refused = refusedError(broker, error);
      if (!refused) return;
      settle();
      reject(refused);
    };
    const onConnect = (connack: { sessionPresent: boolean }) => {
      settle();
      resolve({ sessionPresent: connack.sessionPresent });
    };
    const onEnd = () => {
      settle();
      reject(new Error('the MQTT client was closed before it connected'));
    };
    client.once('connect', onConnect);
    client.once('end', onEnd);
    client.on('error', onError);
  });
}

/**
 * Publishes and waits for the broker's acknowledgement (for QoS 1 and 2), at most `timeoutMs`. When the wait times out,
 * the message may still go out: mqtt.js keeps it and sends it again after a reconnect. `userProperties`
 * (MQTT 5 only) travel beside the payload, which they leave unchanged.
 */
export function publishJson(
  client: MqttClient,
  topic: string,
  payload: unknown,
  qos: 0 | 1 | 2,
  timeoutMs: number,
  userProperties?: Record<string, string>,
): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!client.connected) {
      reject(new NotConnectedError());
      return;
    }
    const timer = setTimeout(
      () => reject(new Error(`MQTT publish on ${topic} not acknowledged within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const options = userProperties ? { qos, properties: { userProperties } } : { qos };
    client.publish(topic, JSON.stringify(payload), options, (error) => {
      clearTimeout(timer);
      if (error) reject(error);
      else resolve();
    });
  });
}

export async function closeClient(client: MqttClient): Promise<void> {
  await client.endAsync();
}

/**
 * Disconnects and has the broker delete the client's session: on MQTT 5 by a session expiry of 0 on the
 * disconnect; on MQTT 3.1.1, which has no such thing, by connecting once more under the same id with a
 * clean session.
 */
export async function closeAndDiscardSession(client: MqttClient, settings: MqttSettings): Promise<void> {
  if (settings.protocolVersion === 5) {
    await client.endAsync(false, { properties: { sessionExpiryInterval: 0 } });
    return;
  }
  const { clientId } = client.options;
  if (clientId === undefined) throw new Error('a client without an id has no session to discard');
  await client.endAsync();
  await discardSessionByCleanConnect(settings, clientId);
}

async function discardSessionByCleanConnect(settings: MqttSettings, clientId: string): Promise<void> {
  // No retries: a failure surfaces to the caller, which keeps the session for a later attempt.
  const discarder = await mqtt.connectAsync(
    settings.url,
    { ...clientOptions(settings, clientId), clean: true, reconnectPeriod: 0 },
    false,
  );
  await discarder.endAsync();
}
