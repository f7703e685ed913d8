import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findExecutable } from '../../src/config/find-executable.ts';
import { PrivateRedis } from '../faults/private-services.ts';
import { freePort } from '../support/free-port.ts';
import { startTestManager } from '../support/manager-harness.ts';
import { exitCode, managerProcesses, spawnManager } from '../support/manager-process.ts';
import { runTaskOnTestManager } from '../support/task-round-trip.ts';
import { makeTestCertificates, OPENSSL, type TestCertificates } from '../support/test-certificates.ts';
import { waitFor } from '../support/wait.ts';

/**
 * Redis with a password (requirepass) and a TLS port, a private redis-server of this file: the manager
 * reaches it through MANAGER_REDIS_URL alone (redis://:password@…, rediss://…), with MANAGER_REDIS_TLS_CA_CERT
 * for a certificate of a private CA; a refused login ends start-up; the password is never logged. Needs a
 * redis-server (and openssl for TLS), which a bare machine lacks.
 */
const password = randomBytes(12).toString('hex');
const REDIS_SERVER = findExecutable('redis-server', process.env.PATH);

if (REDIS_SERVER)
  describe('Redis with a password and TLS, through MANAGER_REDIS_URL', () => {
    const processes = managerProcesses();
    let root: string;
    let redis: PrivateRedis;
    let certs: TestCertificates | undefined;
    before(async () => {
      root = await mkdtemp(join(tmpdir(), 'propeller-test-redis-'));
      certs = OPENSSL ? await makeTestCertificates() : undefined;
      redis = new PrivateRedis(root, await freePort(), {
        password,
        ...(certs ? { tls: { port: await freePort(), cert: certs.server.cert, key: certs.server.key } } : {}),
      });
      await redis.start();
    });
    after(async () => {
      await redis?.close();
      await certs?.remove();
      await rm(root, { recursive: true, force: true });
    });

    it('runs a task with the password in the URL', async () => {
      assert.match(redis.url, /^redis:\/\/:[0-9a-f]+@127\.0\.0\.1:\d+$/);
      await runTaskOnTestManager({ MANAGER_REDIS_URL: redis.url }, 'redis with a password');
    });

    it('ends start-up at once when Redis refuses the login, without the password in the message', async () => {
      const wrong = redis.url.replace(password, 'wrong-password');
      await assert.rejects(startTestManager({ MANAGER_REDIS_URL: wrong }), (error: Error) => {
        assert.match(
          error.message,
          /^Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/? refused the connection: WRONGPASS/,
        );
        assert.ok(!error.message.includes('wrong-password'));
        return true;
      });
      const withoutPassword = redis.url.replace(`:${password}@`, '');
      await assert.rejects(
        startTestManager({ MANAGER_REDIS_URL: withoutPassword }),
        /refused the connection: NOAUTH/,
      );
    });

    it(
      'never logs the password: the banner and every log line show the URL without it',
      { timeout: 60_000 },
      async () => {
        const child = spawnManager([], {
          ...processes.env,
          MANAGER_REDIS_URL: redis.url,
          MANAGER_LOG_LEVEL: 'debug',
        });
        processes.children.push(child);
        await waitFor(
          () => child.output().includes('Run a sample task:') || child.exitCode !== null,
          'the banner',
          45_000,
        );
        assert.match(child.output(), /queues +external +Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+/);
        child.kill('SIGTERM');
        await exitCode(child);
        assert.ok(!child.output().includes(password), 'the password is nowhere in the output');
      },
    );

    if (OPENSSL)
      it('runs a task over rediss:// verified against MANAGER_REDIS_TLS_CA_CERT, and refuses it without', async () => {
        assert.ok(certs);
        await runTaskOnTestManager(
          { MANAGER_REDIS_URL: redis.tlsUrl, MANAGER_REDIS_TLS_CA_CERT: certs.ca.cert },
          'redis over tls',
        );
        await assert.rejects(
          startTestManager({ MANAGER_REDIS_URL: redis.tlsUrl }),
          /^Error: Redis at rediss:\/\/:\*\*\*@127\.0\.0\.1:\d+\/? refused the connection: unable to verify the first certificate/,
        );
      });
  });
