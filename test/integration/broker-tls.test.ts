import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/observability/logger.ts';
import { freePort } from '../support/free-port.ts';
import { request, startTestManager } from '../support/manager-harness.ts';
import { exitCode, managerProcesses, spawnManager } from '../support/manager-process.ts';
import { MOSQUITTO_TOOLS, startShippedBroker, type ShippedBroker } from '../support/shipped-broker.ts';
import { SimulatedProplet } from '../support/simulated-proplet.ts';
import { runTaskRoundTrip } from '../support/task-round-trip.ts';
import { makeTestCertificates, OPENSSL, type TestCertificates } from '../support/test-certificates.ts';

/**
 * The manager against a Mosquitto of its own with TLS, password authentication and the shipped ACL, its
 * certificates made here: one listener verifies only the broker (TLS), one the clients too (mTLS). The
 * manager logs in as upstream's does (entity id, API key); the proplet with its own id and key. Without
 * openssl and Mosquitto's tools (a bare machine), none of this can run.
 */
const MANAGER = 'propeller-manager';
const managerPassword = randomBytes(12).toString('hex');
const propletId = randomUUID();
const propletPassword = randomBytes(12).toString('hex');

if (OPENSSL && MOSQUITTO_TOOLS)
  describe('MQTT over TLS and mTLS, with passwords and the shipped ACL', () => {
    let certs: TestCertificates;
    let shipped: ShippedBroker;
    let tlsPort: number;
    let mtlsPort: number;
    before(async () => {
      certs = await makeTestCertificates();
      [tlsPort, mtlsPort] = [await freePort(), await freePort()];
      const serverFiles = [
        `cafile ${certs.ca.cert}`,
        `certfile ${certs.server.cert}`,
        `keyfile ${certs.server.key}`,
      ];
      shipped = await startShippedBroker(
        { [MANAGER]: managerPassword, [propletId]: propletPassword },
        tlsPort,
        [
          `listener ${tlsPort} 127.0.0.1`,
          ...serverFiles,
          `listener ${mtlsPort} 127.0.0.1`,
          ...serverFiles,
          'require_certificate true',
        ],
      );
    });
    after(async () => {
      await shipped?.close();
      await certs?.remove();
    });

    /** The manager's environment for this broker: its login, and the CA (the test's own) by default. */
    const brokerEnv = (port: number, extra: Record<string, string> = {}) => ({
      MANAGER_MQTT_ADDRESS: `ssl://127.0.0.1:${port}`,
      MANAGER_ENTITY_ID: MANAGER,
      MANAGER_API_KEY: managerPassword,
      MANAGER_MQTT_TLS_CA_CERT: certs.ca.cert,
      ...extra,
    });

    it('runs a task end to end: manager and proplet over TLS, each with its own login', async () => {
      const started = await startTestManager(
        // An embedded proplet too: it connects with the manager's TLS settings and login.
        brokerEnv(tlsPort, { MANAGER_EMBEDDED_PROPLETS: '1' }),
      );
      const { baseUrl, config } = started;
      const proplet = new SimulatedProplet(
        { tenantId: config.mqtt.tenantId, channelId: config.mqtt.channelId },
        undefined,
        propletId,
      );
      try {
        await proplet.start({
          connection: {
            url: `mqtts://127.0.0.1:${tlsPort}`,
            password: propletPassword,
            ca: certs.ca.certPem,
          },
        });
        await runTaskRoundTrip(
          (method, path, body) => request(baseUrl, method, path, body),
          proplet,
          'over tls',
        );
        const listed = (await request(baseUrl, 'GET', '/proplets')).body.proplets as Array<{
          id: string;
          alive: boolean;
        }>;
        const alive = listed.filter((entry) => entry.alive).map((entry) => entry.id);
        assert.equal(
          alive.length,
          2,
          `the simulated proplet and the embedded one: ${JSON.stringify(listed)}`,
        );
        assert.ok(alive.includes(propletId));
      } finally {
        await proplet.stop();
        await started.close();
      }
    });

    it('mTLS: the manager connects with its client certificate, and is refused without one', async () => {
      const withCertificate = await startTestManager(
        brokerEnv(mtlsPort, {
          MANAGER_MQTT_TLS_CLIENT_CERT: certs.client.cert,
          MANAGER_MQTT_TLS_CLIENT_KEY: certs.client.key,
        }),
      );
      try {
        const health = await request(withCertificate.baseUrl, 'GET', '/health');
        assert.equal(health.status, 200, JSON.stringify(health.body));
      } finally {
        await withCertificate.close();
      }
      await assert.rejects(
        startTestManager(brokerEnv(mtlsPort)),
        new RegExp(
          `the MQTT broker at mqtts://127\\.0\\.0\\.1:${mtlsPort} refused the connection: .*certificate required`,
        ),
      );
      // A proplet is held to the same: its certificate, issued by the CA, lets it in.
      const proplet = new SimulatedProplet({ tenantId: 't', channelId: 'c' }, undefined, propletId);
      const connection = {
        url: `mqtts://127.0.0.1:${mtlsPort}`,
        password: propletPassword,
        ca: certs.ca.certPem,
      };
      await assert.rejects(proplet.start({ connection }), /certificate required/);
      await proplet.start({
        connection: { ...connection, cert: certs.client.certPem, key: certs.client.keyPem },
      });
      await proplet.stop();
    });

    it('refuses a broker certificate the manager cannot verify, saying so and what to set', async () => {
      const { MANAGER_MQTT_TLS_CA_CERT: _ca, ...withoutCa } = brokerEnv(tlsPort);
      await assert.rejects(
        startTestManager(withoutCa),
        (error: Error) =>
          error.message.includes(`the MQTT broker at mqtts://127.0.0.1:${tlsPort} refused the connection`) &&
          /self-signed certificate in certificate chain/.test(error.message) &&
          error.message.includes('MANAGER_MQTT_TLS_CA_CERT'),
      );
    });

    it('skips verification only when told to, and warns that it does', async () => {
      const { MANAGER_MQTT_TLS_CA_CERT: _ca, ...withoutCa } = brokerEnv(tlsPort);
      const lines: string[] = [];
      const destination = new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString());
          done();
        },
      });
      const insecure = await startTestManager(
        { ...withoutCa, MANAGER_MQTT_TLS_INSECURE_SKIP_VERIFY: 'true' },
        { logger: createLogger('warn', {}, { destination }) },
      );
      try {
        assert.equal((await request(insecure.baseUrl, 'GET', '/health')).status, 200);
      } finally {
        await insecure.close();
      }
      const warning = lines
        .map((line) => JSON.parse(line) as { level: number; msg: string })
        .find((line) => line.msg.includes('MANAGER_MQTT_TLS_INSECURE_SKIP_VERIFY is true'));
      assert.equal(warning?.level, 40, 'logged at warn');
      assert.ok(!lines.join('').includes(managerPassword), 'the password is never logged');
    });
  });

if (OPENSSL && MOSQUITTO_TOOLS)
  describe('a manager process refused by the broker', () => {
    const processes = managerProcesses();
    let certs: TestCertificates;
    let shipped: ShippedBroker;
    let port: number;
    before(async () => {
      certs = await makeTestCertificates();
      port = await freePort();
      shipped = await startShippedBroker({ [MANAGER]: managerPassword }, port, [
        `listener ${port} 127.0.0.1`,
        `cafile ${certs.ca.cert}`,
        `certfile ${certs.server.cert}`,
        `keyfile ${certs.server.key}`,
      ]);
    });
    after(async () => {
      await shipped?.close();
      await certs?.remove();
    });

    it(
      'ends at once on a wrong password, naming the broker and the reason',
      { timeout: 60_000 },
      async () => {
        const wrong = randomBytes(12).toString('hex');
        const child = spawnManager([], {
          ...processes.env,
          MANAGER_MQTT_ADDRESS: `ssl://127.0.0.1:${port}`,
          MANAGER_MQTT_TLS_CA_CERT: certs.ca.cert,
          MANAGER_ENTITY_ID: MANAGER,
          MANAGER_API_KEY: wrong,
          // Waiting out the timeout would take ten minutes: the refusal has to end it.
          MANAGER_MQTT_TIMEOUT: '10m',
          MANAGER_LOG_LEVEL: 'debug',
        });
        processes.children.push(child);
        assert.equal(await exitCode(child, 45_000), 1, child.output());
        assert.match(
          child.output(),
          new RegExp(
            `could not start: the MQTT broker at mqtts://127\\.0\\.0\\.1:${port} refused the connection: not authorized`,
          ),
        );
        assert.ok(!child.output().includes(wrong), 'the password is never logged');
      },
    );
  });
