import { tlsFailure } from '../tls-failure.ts';

/**
 * The broker answered, and said no in a way that trying again will not change: it refused the login, or
 * TLS could not be agreed (an untrusted certificate on either side). Start-up ends with it instead of
 * waiting out MANAGER_MQTT_TIMEOUT.
 */
export class BrokerRefusedError extends Error {
  override name = 'BrokerRefusedError';
}

export type RefusalKind = 'login' | 'tls';

/** CONNACK codes that mean "not now" rather than "no" (MQTT 3.1.1: 3; MQTT 5: 136, 137, 139, 159). */
const PASSING_REFUSALS = new Set([3, 136, 137, 139, 159]);

/**
 * What a client 'error' event says about the broker's answer: a refusal that retrying will not fix, with
 * its reason in words, or undefined for anything that may pass (the broker not up yet, a network cut).
 */
export function brokerRefusal(error: unknown): { kind: RefusalKind; reason: string } | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  // mqtt.js reports a refusing CONNACK as "Connection refused: <reason>" with the reason code as `code`.
  const connack = /^Connection refused: (.+)$/.exec(error.message);
  if (connack && typeof code === 'number')
    return PASSING_REFUSALS.has(code) ? undefined : { kind: 'login', reason: connack[1]!.toLowerCase() };
  const tls = tlsFailure(error);
  return tls === undefined ? undefined : { kind: 'tls', reason: tls };
}

/** Where a client connects, for messages: scheme, host and port, never the login. */
export function brokerAddress(options: {
  protocol?: string;
  hostname?: string;
  host?: string;
  port?: number;
}): string {
  return `${options.protocol ?? 'mqtt'}://${options.hostname ?? options.host ?? 'localhost'}:${options.port ?? ''}`;
}
