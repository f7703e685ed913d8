import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import { ConfigError } from './config-error.ts';
import type { Environment } from './environment.ts';

/** HTTPS of the api and the metrics port: PEM contents, and the file the certificate came from. */
export interface HttpTls {
  cert: string;
  key: string;
  certFile: string;
}

/** TLS options of every MQTT connection the manager makes (mqtt.js hands them to tls.connect). */
export interface MqttTls {
  /** CA certificates the broker's certificate must chain to; unset: the system's. */
  ca?: string;
  /** The client certificate and key, for a broker that asks for one (mTLS). */
  cert?: string;
  key?: string;
  /** False only with MANAGER_MQTT_TLS_INSECURE_SKIP_VERIFY: any certificate is accepted. */
  rejectUnauthorized: boolean;
}

export interface TransportSecurity {
  httpTls?: HttpTls;
  /** Undefined when no MQTT TLS variable is set: an mqtts:// broker is then verified against the system's CAs. */
  mqttTls?: MqttTls;
  postgresRootCert?: string;
  redisCa?: string;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** After toMqttUrl: the schemes mqtt.js connects to over TLS. */
export function isTlsBrokerUrl(url: string): boolean {
  return /^(mqtts|wss):\/\//.test(url);
}

/**
 * Reads and checks every certificate and key the environment names, so that a missing, unreadable or
 * mismatched file stops start-up naming its variable rather than failing the first connection (or, for
 * HTTPS, the first client). They are read once: a renewed certificate takes effect at the next start.
 */
export function transportSecurity(
  e: Environment,
  cwd: string,
  brokerUrl: string | undefined,
): TransportSecurity {
  const problems: string[] = [];
  const problem = (variable: string, message: string) => problems.push(`${variable}: ${message}`);

  const read = (variable: string, path: string): string | undefined => {
    const file = resolve(cwd, path);
    try {
      return readFileSync(file, 'utf8');
    } catch (error) {
      problem(variable, `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`);
      return undefined;
    }
  };
  const certificates = (variable: string, path: string | undefined): string | undefined => {
    if (path === undefined) return undefined;
    const text = read(variable, path);
    if (text === undefined) return undefined;
    const blocks = text.match(PEM_CERTIFICATE) ?? [];
    if (blocks.length === 0) {
      problem(variable, `${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
      return undefined;
    }
    try {
      for (const block of blocks) new X509Certificate(block);
    } catch {
      problem(variable, `${path} holds a certificate that does not parse`);
      return undefined;
    }
    return text;
  };
  const privateKey = (variable: string, path: string | undefined): string | undefined => {
    if (path === undefined) return undefined;
    const text = read(variable, path);
    if (text === undefined) return undefined;
    try {
      createPrivateKey(text);
      return text;
    } catch {
      // The error's text is left out: it would say nothing more useful, and a key has no place in messages.
      problem(variable, `${path} is not a PEM private key, or is encrypted (which is not supported)`);
      return undefined;
    }
  };
  /** A certificate and key named by two variables: both or neither, and the key must be the certificate's. */
  const keyPair = (
    [certVariable, certPath]: [string, string | undefined],
    [keyVariable, keyPath]: [string, string | undefined],
  ): HttpTls | undefined => {
    if (certPath === undefined && keyPath === undefined) return undefined;
    if (keyPath === undefined || certPath === undefined) {
      const [missing, given] =
        keyPath === undefined ? [keyVariable, certVariable] : [certVariable, keyVariable];
      problem(missing, `must be set with ${given}`);
      return undefined;
    }
    const cert = certificates(certVariable, certPath);
    const key = privateKey(keyVariable, keyPath);
    if (cert === undefined || key === undefined) return undefined;
    try {
      createSecureContext({ cert, key });
    } catch {
      problem(keyVariable, `${keyPath} is not the key of the certificate in ${certVariable}`);
      return undefined;
    }
    return { cert, key, certFile: resolve(cwd, certPath) };
  };

  const httpTls = keyPair(
    ['MANAGER_HTTP_SERVER_CERT', e.MANAGER_HTTP_SERVER_CERT],
    ['MANAGER_HTTP_SERVER_KEY', e.MANAGER_HTTP_SERVER_KEY],
  );

  const mqttVariables = Object.entries({
    MANAGER_MQTT_TLS_CA_CERT: e.MANAGER_MQTT_TLS_CA_CERT,
    MANAGER_MQTT_TLS_CLIENT_CERT: e.MANAGER_MQTT_TLS_CLIENT_CERT,
    MANAGER_MQTT_TLS_CLIENT_KEY: e.MANAGER_MQTT_TLS_CLIENT_KEY,
    MANAGER_MQTT_TLS_INSECURE_SKIP_VERIFY: e.MANAGER_MQTT_TLS_INSECURE_SKIP_VERIFY || undefined,
  })
    .filter(([, value]) => value !== undefined)
    .map(([name]) => name);
  let mqttTls: MqttTls | undefined;
  if (mqttVariables.length > 0) {
    // TLS settings with a plain broker address would send the login in clear while promising TLS.
    if (brokerUrl === undefined)
      problem(mqttVariables[0]!, 'needs MANAGER_MQTT_ADDRESS: the embedded broker speaks no TLS');
    else if (!isTlsBrokerUrl(brokerUrl))
      problem(
        mqttVariables[0]!,
        `is set, but MANAGER_MQTT_ADDRESS is not a TLS address (ssl://, tls://, mqtts:// or wss://)`,
      );
    const client = keyPair(
      ['MANAGER_MQTT_TLS_CLIENT_CERT', e.MANAGER_MQTT_TLS_CLIENT_CERT],
      ['MANAGER_MQTT_TLS_CLIENT_KEY', e.MANAGER_MQTT_TLS_CLIENT_KEY],
    );
    mqttTls = {
      ca: certificates('MANAGER_MQTT_TLS_CA_CERT', e.MANAGER_MQTT_TLS_CA_CERT),
      cert: client?.cert,
      key: client?.key,
      rejectUnauthorized: !e.MANAGER_MQTT_TLS_INSECURE_SKIP_VERIFY,
    };
  }

  const postgresRootCert = certificates('MANAGER_POSTGRES_SSL_ROOT_CERT', e.MANAGER_POSTGRES_SSL_ROOT_CERT);
  if (
    e.MANAGER_POSTGRES_SSL_ROOT_CERT !== undefined &&
    !['require', 'verify-ca', 'verify-full'].includes(e.MANAGER_POSTGRES_SSLMODE)
  )
    problem(
      'MANAGER_POSTGRES_SSL_ROOT_CERT',
      `is set, but MANAGER_POSTGRES_SSLMODE is ${e.MANAGER_POSTGRES_SSLMODE}: use verify-full, verify-ca or require`,
    );

  const redisCa = certificates('MANAGER_REDIS_TLS_CA_CERT', e.MANAGER_REDIS_TLS_CA_CERT);
  if (e.MANAGER_REDIS_TLS_CA_CERT !== undefined && !e.MANAGER_REDIS_URL?.startsWith('rediss://'))
    problem('MANAGER_REDIS_TLS_CA_CERT', 'is set, but MANAGER_REDIS_URL is not a rediss:// URL');

  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  return { httpTls, mqttTls, postgresRootCert, redisCa };
}
