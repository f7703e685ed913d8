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

/** OpenSSL's certificate verification results, as Node names them in `error.code`. */
const VERIFICATION_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
]);

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
  if (typeof code !== 'string') return undefined;
  if (VERIFICATION_CODES.has(code) || code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return { kind: 'tls', reason: error.message };
  // An alert from the broker (it wants a client certificate, or does not trust ours): OpenSSL's message
  // carries its reason between library and file names, e.g. "…:ssl3_read_bytes:tlsv13 alert certificate required:…".
  if (code.startsWith('ERR_SSL_'))
    return { kind: 'tls', reason: /SSL routines:[^:]*:([^:]+)/.exec(error.message)?.[1] ?? error.message };
  return undefined;
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
