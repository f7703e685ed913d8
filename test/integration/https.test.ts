import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ConfigError, loadConfig, type HttpTls } from '../../src/config/config.ts';
import { findExecutable } from '../../src/config/find-executable.ts';
import { closeServer, listen } from '../../src/http/server.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { startPrometheusServer } from '../../src/observability/prometheus-server.ts';
import { prometheusExposition } from '../../src/observability/prometheus.ts';
import { curlTrust } from '../../src/start-up-banner.ts';
import { httpsJson } from '../support/https-request.ts';
import { startTestManager } from '../support/manager-harness.ts';
import { managerProcesses, spawnManager } from '../support/manager-process.ts';
import { SimulatedProplet } from '../support/simulated-proplet.ts';
import { runTaskRoundTrip } from '../support/task-round-trip.ts';
import { makeTestCertificates, OPENSSL, type TestCertificates } from '../support/test-certificates.ts';
import { waitFor } from '../support/wait.ts';

/**
 * HTTPS of the api and of a worker's metrics port, with certificates made here by the openssl CLI. A
 * machine without openssl on its PATH (a bare one) cannot make them, and runs none of this.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

const tlsOf = (certs: TestCertificates, which: 'server' | 'selfSigned' | 'localhostOnly'): HttpTls => ({
  cert: certs[which].certPem,
  key: certs[which].keyPem,
  certFile: certs[which].cert,
});

if (OPENSSL)
  describe('HTTPS (MANAGER_HTTP_SERVER_CERT and MANAGER_HTTP_SERVER_KEY)', () => {
    let certs: TestCertificates;
    before(async () => {
      certs = await makeTestCertificates();
    });
    after(() => certs.remove());

    it('serves the API over HTTPS, on which a task runs end to end; plain HTTP gets no answer', async () => {
      const started = await startTestManager({
        MANAGER_HTTP_SERVER_CERT: certs.server.cert,
        MANAGER_HTTP_SERVER_KEY: certs.server.key,
      });
      const { manager, baseUrl, config } = started;
      const proplet = new SimulatedProplet({
        tenantId: config.mqtt.tenantId,
        channelId: config.mqtt.channelId,
      });
      try {
        assert.match(baseUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
        const call = (method: string, path: string, body?: unknown) =>
          httpsJson(`${baseUrl}${path}`, { ca: certs.ca.certPem, method, body });
        assert.equal((await call('GET', '/health')).status, 200);
        await proplet.start();
        await runTaskRoundTrip(call, proplet, 'over https');
        await assert.rejects(fetch(`http://127.0.0.1:${manager.apiPort}/health`));
        // A client that does not know the CA refuses the certificate.
        await assert.rejects(fetch(`${baseUrl}/health`));
      } finally {
        await proplet.stop();
        await started.close();
      }
    });

    it("serves a worker process's /metrics over HTTPS with the same certificate", async () => {
      const { http } = loadConfig(
        { MANAGER_HTTP_SERVER_CERT: certs.server.cert, MANAGER_HTTP_SERVER_KEY: certs.server.key },
        '/nonexistent',
      );
      assert.ok(http.tls);
      const exposition = prometheusExposition({ version: 'test', roles: ['scheduler'] });
      const metrics = await startPrometheusServer(
        exposition,
        '127.0.0.1',
        0,
        createLogger('silent'),
        http.tls,
      );
      try {
        const scraped = await httpsJson(`https://127.0.0.1:${metrics.port}/metrics`, {
          ca: certs.ca.certPem,
        });
        assert.equal(scraped.status, 200);
        assert.match(scraped.body as string, /^propeller_build_info\{.*roles="scheduler"/m);
      } finally {
        await metrics.close();
      }
    });

    it(
      'keeps the write timeout, and closes while keep-alive connections are open',
      { timeout: 30_000 },
      async () => {
        const server = await listen(
          (req, res) => {
            // Anything but /quick makes no progress at all, as a stuck response would not.
            if (req.url === '/quick') res.end('{"ok":true}');
          },
          '127.0.0.1',
          0,
          { writeTimeoutMs: 300, tls: tlsOf(certs, 'server') },
        );
        const port = (server.address() as { port: number }).port;
        const keepAlive = new Agent({ keepAlive: true, ca: certs.ca.certPem });
        try {
          const quick = await httpsJson(`https://127.0.0.1:${port}/quick`, {
            ca: certs.ca.certPem,
            agent: keepAlive,
          });
          assert.deepEqual(quick, { status: 200, body: { ok: true } });
          // The server cuts off a response that makes no progress: the client sees the socket end unanswered.
          await assert.rejects(
            httpsJson(`https://127.0.0.1:${port}/stuck`, { ca: certs.ca.certPem }),
            /socket hang up/,
          );
          // The keep-alive connection of /quick is idle in the agent: closing does not wait for it.
          await closeServer(server);
          assert.equal(server.listening, false);
        } finally {
          keepAlive.destroy();
        }
      },
    );

    it("refuses to start with a key that is not the certificate's, or an encrypted one", async () => {
      const refused = (key: string) =>
        assert.throws(
          () =>
            loadConfig(
              { MANAGER_HTTP_SERVER_CERT: certs.server.cert, MANAGER_HTTP_SERVER_KEY: key },
              '/nonexistent',
            ),
          (error: unknown) => error instanceof ConfigError && /MANAGER_HTTP_SERVER_KEY: /.test(error.message),
        );
      const encrypted = join(certs.dir, 'encrypted.key');
      await writeFile(
        encrypted,
        createPrivateKey(certs.server.keyPem).export({
          type: 'pkcs8',
          format: 'pem',
          cipher: 'aes-256-cbc',
          passphrase: 'secret',
        }),
      );
      refused(encrypted);
      assert.throws(
        () =>
          loadConfig(
            { MANAGER_HTTP_SERVER_CERT: certs.server.cert, MANAGER_HTTP_SERVER_KEY: certs.client.key },
            '/nonexistent',
          ),
        /is not the key of the certificate in MANAGER_HTTP_SERVER_CERT/,
      );
    });

    it('tells curl how to trust the certificate, or says plainly that it cannot', async () => {
      // Self-signed: the certificate is its own CA, so curl verifies it for real.
      assert.deepEqual(curlTrust(tlsOf(certs, 'selfSigned'), '0.0.0.0'), {
        host: '127.0.0.1',
        flags: `--cacert '${certs.selfSigned.cert}'`,
      });
      // Issued by a CA: curl verifies it against the CAs it trusts, which may not hold this one.
      const issued = curlTrust(tlsOf(certs, 'server'), '127.0.0.1');
      assert.deepEqual([issued.host, issued.flags], ['127.0.0.1', '']);
      assert.match(issued.note ?? '', /--cacert/);
      // Issued for localhost only: the URL says localhost, which the certificate names.
      assert.equal(curlTrust(tlsOf(certs, 'localhostOnly'), '127.0.0.1').host, 'localhost');
      // For a name that does not reach this machine: -k, and a note saying what that gives up.
      const elsewhere = await certs.issue('elsewhere', 'DNS:manager.example', 'serverAuth');
      const trust = curlTrust(
        { cert: elsewhere.certPem, key: elsewhere.keyPem, certFile: elsewhere.cert },
        '0.0.0.0',
      );
      assert.deepEqual([trust.host, trust.flags], ['127.0.0.1', '-k']);
      assert.match(trust.note ?? '', /cannot verify/);
    });
  });

if (OPENSSL && findExecutable('curl', process.env.PATH))
  describe('the start-up banner of an HTTPS manager', () => {
    const processes = managerProcesses();
    let certs: TestCertificates;
    before(async () => {
      certs = await makeTestCertificates();
    });
    after(() => certs.remove());

    it(
      'prints https:// addresses and a sample command that runs a task with curl',
      { timeout: 90_000 },
      async () => {
        const child = spawnManager([], {
          ...processes.env,
          MANAGER_HTTP_SERVER_CERT: certs.selfSigned.cert,
          MANAGER_HTTP_SERVER_KEY: certs.selfSigned.key,
          // One reference proplet runs the sample's Wasm for real.
          MANAGER_EMBEDDED_PROPLETS: '1',
        });
        processes.children.push(child);
        await waitFor(
          () => child.output().includes('Run a sample task:') || child.exitCode !== null,
          'the start-up banner',
          60_000,
        );
        const lines = child.output().split('\n');
        const api = lines.find((line) => line.trimStart().startsWith('API '));
        assert.match(api ?? '', new RegExp(`https://127\\.0\\.0\\.1:${processes.env.MANAGER_HTTP_PORT}`));
        const command = lines[lines.findIndex((line) => line.startsWith('Run a sample task:')) + 1]!.trim();
        assert.ok(command.includes(`curl -s --cacert '${certs.selfSigned.cert}' `), command);
        const { stdout } = await run('sh', ['-c', command], { cwd: ROOT, timeout: 60_000 });
        assert.match(stdout, /"results":"5"/);
        child.kill('SIGTERM');
      },
    );
  });
