import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findExecutable } from '../../src/config/find-executable.ts';

const run = promisify(execFile);

/** The openssl CLI, where this machine has one on its PATH (a bare machine has none). */
export const OPENSSL = findExecutable('openssl', process.env.PATH);

/** A PEM certificate and its unencrypted key, as files and as text. */
export interface CertificateFiles {
  cert: string;
  key: string;
  certPem: string;
  keyPem: string;
}

export interface TestCertificates {
  dir: string;
  /** A CA of this test run alone, which issued the certificates below. */
  ca: CertificateFiles;
  /** For 127.0.0.1 and localhost, issued by the CA. */
  server: CertificateFiles;
  /** For a client (mTLS), issued by the CA. */
  client: CertificateFiles;
  /** For 127.0.0.1 and localhost, signed by itself, as `openssl req -x509` makes one for a first try. */
  selfSigned: CertificateFiles;
  /** Only for localhost (not 127.0.0.1), issued by the CA: what verify-full refuses at 127.0.0.1. */
  localhostOnly: CertificateFiles;
  /** Makes another certificate issued by the CA. */
  issue(name: string, subjectAltName: string, usage: 'serverAuth' | 'clientAuth'): Promise<CertificateFiles>;
  remove(): Promise<void>;
}

/** P-256 keys: quick to make, and every server here (Mosquitto, Redis, Postgres, Node) takes them. */
const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
const DAYS = ['-days', '2'];
const LOCAL_NAMES = 'IP:127.0.0.1,DNS:localhost';

async function openssl(args: string[], cwd: string): Promise<void> {
  if (!OPENSSL) throw new Error('no openssl on the PATH');
  await run(OPENSSL, args, { cwd, timeout: 30_000 });
}

async function files(dir: string, name: string): Promise<CertificateFiles> {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  return { cert, key, certPem: await readFile(cert, 'utf8'), keyPem: await readFile(key, 'utf8') };
}

/** A CA and certificates made with the openssl CLI, in a temporary directory of their own. */
export async function makeTestCertificates(): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), 'propeller-test-tls-'));
  const selfSign = (name: string, subject: string, extensions: string[]) =>
    openssl(
      [
        'req',
        '-x509',
        ...KEY,
        ...DAYS,
        '-subj',
        subject,
        ...extensions.flatMap((extension) => ['-addext', extension]),
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.crt`,
      ],
      dir,
    );
  await selfSign('ca', '/CN=Propeller test CA', [
    'basicConstraints=critical,CA:TRUE',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const issue = async (name: string, subjectAltName: string, usage: 'serverAuth' | 'clientAuth') => {
    await openssl(
      ['req', ...KEY, '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`],
      dir,
    );
    await writeFile(
      join(dir, `${name}.ext`),
      `subjectAltName=${subjectAltName}\nextendedKeyUsage=${usage}\nbasicConstraints=CA:FALSE\n`,
    );
    await openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        ...DAYS,
        '-extfile',
        `${name}.ext`,
        '-out',
        `${name}.crt`,
      ],
      dir,
    );
    return files(dir, name);
  };
  await selfSign('self-signed', '/CN=localhost', [`subjectAltName=${LOCAL_NAMES}`]);
  return {
    dir,
    ca: await files(dir, 'ca'),
    server: await issue('server', LOCAL_NAMES, 'serverAuth'),
    client: await issue('client', 'DNS:propeller-test-client', 'clientAuth'),
    selfSigned: await files(dir, 'self-signed'),
    localhostOnly: await issue('localhost-only', 'DNS:localhost', 'serverAuth'),
    issue,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
