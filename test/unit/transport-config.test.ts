import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig, type Config } from '../../src/config/config.ts';
import { sslOptions } from '../../src/db/connection.ts';
import { brokerAddress, brokerRefusal } from '../../src/mqtt/broker-refusal.ts';
import { sampleCommand } from '../../src/start-up-banner.ts';

/**
 * What can be checked without a certificate (making one takes the openssl CLI, see
 * test/integration/https.test.ts and broker-tls.test.ts): files that are missing, unreadable or not PEM,
 * variables that need each other, TLS settings without a TLS address, and how sslmode and broker refusals
 * are read.
 */
const dir = mkdtempSync(join(tmpdir(), 'manager-transport-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const notPem = file('not-pem.txt', 'just some text\n');
const brokenCertificate = file(
  'broken.crt',
  '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n',
);
const missing = join(dir, 'missing.pem');

/** Loading fails with a ConfigError naming `variable` and matching `message`; nothing else starts. */
function assertRefused(env: Record<string, string>, variable: string, message: RegExp = /./): void {
  assert.throws(
    () => loadConfig(env, dir),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
      assert.match(error.message, new RegExp(`${variable}: `));
      assert.match(error.message, message);
      return true;
    },
  );
}

describe('HTTPS configuration', () => {
  it('needs the certificate and the key together', () => {
    assertRefused({ MANAGER_HTTP_SERVER_CERT: notPem }, 'MANAGER_HTTP_SERVER_KEY', /must be set with/);
    assertRefused({ MANAGER_HTTP_SERVER_KEY: notPem }, 'MANAGER_HTTP_SERVER_CERT', /must be set with/);
  });

  it('refuses files that are missing or hold no certificate or key, naming each variable', () => {
    assertRefused(
      { MANAGER_HTTP_SERVER_CERT: missing, MANAGER_HTTP_SERVER_KEY: notPem },
      'MANAGER_HTTP_SERVER_CERT',
      /cannot read .*missing\.pem \(ENOENT\)/,
    );
    assertRefused(
      { MANAGER_HTTP_SERVER_CERT: notPem, MANAGER_HTTP_SERVER_KEY: notPem },
      'MANAGER_HTTP_SERVER_CERT',
      /holds no PEM certificate/,
    );
    assertRefused(
      { MANAGER_HTTP_SERVER_CERT: brokenCertificate, MANAGER_HTTP_SERVER_KEY: notPem },
      'MANAGER_HTTP_SERVER_CERT',
      /does not parse/,
    );
    assertRefused(
      { MANAGER_HTTP_SERVER_CERT: brokenCertificate, MANAGER_HTTP_SERVER_KEY: notPem },
      'MANAGER_HTTP_SERVER_KEY',
      /not a PEM private key/,
    );
  });

  it('reads a relative path from the working directory', () => {
    assertRefused(
      { MANAGER_HTTP_SERVER_CERT: 'not-pem.txt', MANAGER_HTTP_SERVER_KEY: 'missing.pem' },
      'MANAGER_HTTP_SERVER_CERT',
      /holds no PEM certificate/,
    );
    assertRefused(
      { MANAGER_HTTP_SERVER_CERT: 'not-pem.txt', MANAGER_HTTP_SERVER_KEY: 'missing.pem' },
      'MANAGER_HTTP_SERVER_KEY',
      new RegExp(`cannot read ${join(dir, 'missing.pem').replace(/[.]/g, '\\.')}`),
    );
  });

  it('is off by default', () => {
    const config = loadConfig({}, dir);
    assert.equal(config.http.tls, undefined);
  });
});

describe('MQTT TLS configuration', () => {
  const tlsBroker = { MANAGER_MQTT_ADDRESS: 'ssl://broker.example:8883' };

  it('needs a TLS broker address for any TLS setting', () => {
    assertRefused(
      { MANAGER_MQTT_ADDRESS: 'tcp://broker.example:1883', MANAGER_MQTT_TLS_CA_CERT: notPem },
      'MANAGER_MQTT_TLS_CA_CERT',
      /not a TLS address/,
    );
    assertRefused(
      { MANAGER_MQTT_ADDRESS: 'mqtt://broker.example', MANAGER_MQTT_TLS_INSECURE_SKIP_VERIFY: 'true' },
      'MANAGER_MQTT_TLS_INSECURE_SKIP_VERIFY',
      /not a TLS address/,
    );
    assertRefused({ MANAGER_MQTT_TLS_CA_CERT: notPem }, 'MANAGER_MQTT_TLS_CA_CERT', /embedded broker/);
  });

  it('needs the client certificate and key together', () => {
    assertRefused(
      { ...tlsBroker, MANAGER_MQTT_TLS_CLIENT_CERT: notPem },
      'MANAGER_MQTT_TLS_CLIENT_KEY',
      /must be set with MANAGER_MQTT_TLS_CLIENT_CERT/,
    );
    assertRefused(
      { ...tlsBroker, MANAGER_MQTT_TLS_CLIENT_KEY: notPem },
      'MANAGER_MQTT_TLS_CLIENT_CERT',
      /must be set with MANAGER_MQTT_TLS_CLIENT_KEY/,
    );
  });

  it('refuses a CA file that is missing or no certificate', () => {
    assertRefused({ ...tlsBroker, MANAGER_MQTT_TLS_CA_CERT: missing }, 'MANAGER_MQTT_TLS_CA_CERT', /ENOENT/);
    assertRefused(
      { ...tlsBroker, MANAGER_MQTT_TLS_CA_CERT: notPem },
      'MANAGER_MQTT_TLS_CA_CERT',
      /no PEM certificate/,
    );
  });

  it('takes true or false for skipping verification, false by default', () => {
    assertRefused(
      { ...tlsBroker, MANAGER_MQTT_TLS_INSECURE_SKIP_VERIFY: 'yes' },
      'MANAGER_MQTT_TLS_INSECURE_SKIP_VERIFY',
    );
    assert.equal(loadConfig(tlsBroker, dir).mqtt.tls, undefined);
    assert.deepEqual(
      loadConfig({ ...tlsBroker, MANAGER_MQTT_TLS_INSECURE_SKIP_VERIFY: 'true' }, dir).mqtt.tls,
      {
        ca: undefined,
        cert: undefined,
        key: undefined,
        rejectUnauthorized: false,
      },
    );
    // An empty variable counts as unset, as everywhere.
    assert.equal(loadConfig({ ...tlsBroker, MANAGER_MQTT_TLS_CA_CERT: '' }, dir).mqtt.tls, undefined);
  });
});

describe('Postgres and Redis TLS configuration', () => {
  it('refuses a Postgres root certificate that is none, or where the sslmode does not use TLS', () => {
    assertRefused(
      {
        MANAGER_POSTGRES_HOST: 'db',
        MANAGER_POSTGRES_SSLMODE: 'verify-full',
        MANAGER_POSTGRES_SSL_ROOT_CERT: notPem,
      },
      'MANAGER_POSTGRES_SSL_ROOT_CERT',
      /no PEM certificate/,
    );
    assertRefused(
      { MANAGER_POSTGRES_HOST: 'db', MANAGER_POSTGRES_SSL_ROOT_CERT: notPem },
      'MANAGER_POSTGRES_SSL_ROOT_CERT',
      /MANAGER_POSTGRES_SSLMODE is disable/,
    );
    assertRefused({ MANAGER_POSTGRES_SSLMODE: 'verify-all' }, 'MANAGER_POSTGRES_SSLMODE');
  });

  it('refuses a Redis CA without a rediss:// URL', () => {
    assertRefused(
      { MANAGER_REDIS_URL: 'redis://:secret@cache:6379', MANAGER_REDIS_TLS_CA_CERT: brokenCertificate },
      'MANAGER_REDIS_TLS_CA_CERT',
      /not a rediss:\/\/ URL/,
    );
  });

  const postgres = (sslmode: string, sslRootCert?: string): Config['postgres'] => ({
    ...loadConfig({}, dir).postgres,
    sslmode,
    sslRootCert,
  });
  const CA = '-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----\n';

  it('maps sslmode as libpq does, as far as node-postgres can', () => {
    for (const mode of ['disable', 'allow', 'prefer'])
      assert.equal(sslOptions(postgres(mode)), undefined, mode);
    assert.deepEqual(sslOptions(postgres('require')), { rejectUnauthorized: false });
    // libpq: require with a root certificate verifies the chain, as verify-ca does.
    const requireWithCa = sslOptions(postgres('require', CA));
    assert.ok(typeof requireWithCa === 'object');
    assert.equal(requireWithCa.ca, CA);
    assert.equal(requireWithCa.rejectUnauthorized, true);
    assert.equal(requireWithCa.checkServerIdentity?.('db.example', {} as never), undefined);
    const verifyCa = sslOptions(postgres('verify-ca', CA));
    assert.ok(typeof verifyCa === 'object');
    assert.deepEqual([verifyCa.ca, verifyCa.rejectUnauthorized], [CA, true]);
    assert.equal(typeof verifyCa.checkServerIdentity, 'function', 'verify-ca does not check the host name');
    assert.deepEqual(sslOptions(postgres('verify-full', CA)), { ca: CA, rejectUnauthorized: true });
    assert.deepEqual(sslOptions(postgres('verify-full')), { rejectUnauthorized: true });
  });
});

describe('broker refusals', () => {
  const withCode = (message: string, code: string | number) => Object.assign(new Error(message), { code });

  it('takes a refused login as final, a busy or unavailable broker as passing', () => {
    assert.deepEqual(brokerRefusal(withCode('Connection refused: Not authorized', 135)), {
      kind: 'login',
      reason: 'not authorized',
    });
    assert.deepEqual(brokerRefusal(withCode('Connection refused: Bad username or password', 4)), {
      kind: 'login',
      reason: 'bad username or password',
    });
    assert.equal(brokerRefusal(withCode('Connection refused: Server unavailable', 3)), undefined);
    assert.equal(brokerRefusal(withCode('Connection refused: Server busy', 137)), undefined);
  });

  it('takes certificate failures as final, network errors as passing', () => {
    assert.deepEqual(
      brokerRefusal(withCode('self-signed certificate in certificate chain', 'SELF_SIGNED_CERT_IN_CHAIN')),
      { kind: 'tls', reason: 'self-signed certificate in certificate chain' },
    );
    assert.deepEqual(
      brokerRefusal(
        withCode(
          '80:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../ssl/record/rec_layer_s3.c:1601:SSL alert number 116\n',
          'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
        ),
      ),
      { kind: 'tls', reason: 'tlsv13 alert certificate required' },
    );
    assert.equal(brokerRefusal(withCode('connect ECONNREFUSED 127.0.0.1:1883', 'ECONNREFUSED')), undefined);
    assert.equal(brokerRefusal(withCode('read ECONNRESET', 'ECONNRESET')), undefined);
    assert.equal(brokerRefusal('not an error'), undefined);
  });

  it('names a broker without its login', () => {
    assert.equal(
      brokerAddress({ protocol: 'mqtts', hostname: 'broker.example', port: 8883 }),
      'mqtts://broker.example:8883',
    );
  });
});

describe('the sample command', () => {
  it('gives every curl the flags that make it trust the certificate', () => {
    const command = sampleCommand('https://127.0.0.1:7070', "--cacert '/etc/manager/cert.pem'");
    assert.equal(command.match(/curl -s --cacert '\/etc\/manager\/cert\.pem' /g)?.length, 3);
    assert.doesNotMatch(sampleCommand('http://127.0.0.1:7070'), /curl -s {2}|--cacert/);
  });
});
