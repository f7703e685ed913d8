import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Config } from '../../src/config/config.ts';
import { standaloneClient } from '../../src/db/connection.ts';
import { PrivatePostgres } from '../faults/private-services.ts';
import { freePort } from '../support/free-port.ts';
import { runTaskOnTestManager } from '../support/task-round-trip.ts';
import { testConfig } from '../support/test-config.ts';
import type { TestDatabase } from '../support/test-database.ts';
import { makeTestCertificates, OPENSSL, type TestCertificates } from '../support/test-certificates.ts';

/**
 * A private Postgres of this file that takes TCP connections over TLS only (pg_hba: hostssl), with
 * certificates made here: what each MANAGER_POSTGRES_SSLMODE does against it, MANAGER_POSTGRES_SSL_ROOT_CERT
 * for verify-ca and verify-full, and a whole manager (tasks and queues in Postgres) over verify-full. Needs
 * Postgres's server binaries and openssl, which a bare machine lacks.
 */
const POSTGRES_INSTALLED = existsSync('/usr/lib/postgresql');

if (OPENSSL && POSTGRES_INSTALLED)
  describe('Postgres over TLS (MANAGER_POSTGRES_SSLMODE, MANAGER_POSTGRES_SSL_ROOT_CERT)', () => {
    let root: string;
    let certs: TestCertificates;
    let postgres: PrivatePostgres;
    let database: TestDatabase;
    before(async () => {
      root = await mkdtemp(join(tmpdir(), 'propeller-test-postgres-tls-'));
      // As root, Postgres runs as the postgres user, who must reach its directory below this one.
      await chmod(root, 0o755);
      certs = await makeTestCertificates();
      // First a certificate for localhost only, which verify-full refuses at 127.0.0.1 and verify-ca takes.
      postgres = new PrivatePostgres(root, await freePort(), {
        tls: { cert: certs.localhostOnly.certPem, key: certs.localhostOnly.keyPem },
      });
      await postgres.init();
      const { host, port, user, password } = postgres.connection;
      database = {
        name: postgres.database,
        connection: { host, port, user, password },
        drop: async () => {},
      };
    });
    after(async () => {
      await postgres?.close();
      await certs?.remove();
      await rm(root, { recursive: true, force: true });
    });

    /** The manager's Postgres settings for this server with these variables. */
    const settings = (env: Record<string, string>): Config['postgres'] => testConfig(database, env).postgres;

    /** Whether this connection is encrypted, as the server sees it. */
    async function encrypted(env: Record<string, string>): Promise<boolean> {
      const client = standaloneClient(settings(env));
      await client.connect();
      try {
        const { rows } = await client.query<{ ssl: boolean }>(
          'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
        );
        return rows[0]!.ssl;
      } finally {
        await client.end();
      }
    }

    const refused = async (env: Record<string, string>, reason: RegExp) => {
      const client = standaloneClient(settings(env));
      await assert.rejects(client.connect(), reason);
      await client.end().catch(() => undefined);
    };

    it('disable is refused by a server that demands TLS; require encrypts without checking the certificate', async () => {
      await refused({ MANAGER_POSTGRES_SSLMODE: 'disable' }, /no pg_hba\.conf entry .* no encryption/);
      assert.equal(await encrypted({ MANAGER_POSTGRES_SSLMODE: 'require' }), true);
    });

    it('verify-ca checks the chain against the root certificate; verify-full the host name too', async () => {
      const ca = certs.ca.cert;
      assert.equal(
        await encrypted({ MANAGER_POSTGRES_SSLMODE: 'verify-ca', MANAGER_POSTGRES_SSL_ROOT_CERT: ca }),
        true,
      );
      // As libpq: require with a root certificate verifies the chain as verify-ca does.
      assert.equal(
        await encrypted({ MANAGER_POSTGRES_SSLMODE: 'require', MANAGER_POSTGRES_SSL_ROOT_CERT: ca }),
        true,
      );
      await refused({ MANAGER_POSTGRES_SSLMODE: 'verify-ca' }, /unable to verify the first certificate/);
      await refused(
        { MANAGER_POSTGRES_SSLMODE: 'verify-full', MANAGER_POSTGRES_SSL_ROOT_CERT: ca },
        /IP: 127\.0\.0\.1 is not in the cert's list/,
      );
      // A certificate that does name 127.0.0.1: verify-full takes it.
      await postgres.useCertificate(certs.server.certPem, certs.server.keyPem);
      assert.equal(
        await encrypted({ MANAGER_POSTGRES_SSLMODE: 'verify-full', MANAGER_POSTGRES_SSL_ROOT_CERT: ca }),
        true,
      );
    });

    it('runs a manager over verify-full, its tasks and its queues in this Postgres', async () => {
      await postgres.useCertificate(certs.server.certPem, certs.server.keyPem);
      await runTaskOnTestManager(
        {
          MANAGER_POSTGRES_SSLMODE: 'verify-full',
          MANAGER_POSTGRES_SSL_ROOT_CERT: certs.ca.cert,
          MANAGER_QUEUE_STORE: 'postgres',
        },
        'over postgres tls',
        { database },
      );
    });
  });
