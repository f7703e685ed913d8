import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findExecutable } from '../../src/config/find-executable.ts';
import { PrivateMosquitto } from '../faults/private-services.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** What docker-compose.yml mounts into its mosquitto service. */
export const SHIPPED = {
  acl: join(ROOT, 'docker/mosquitto/acl'),
  conf: join(ROOT, 'docker/mosquitto/mosquitto.conf'),
  makePasswords: join(ROOT, 'docker/mosquitto/make-passwords.sh'),
  start: join(ROOT, 'docker/mosquitto/start.sh'),
};

/** Where Debian puts the broker, which need not be on a user's PATH. */
export const MOSQUITTO_PATH = `${process.env.PATH ?? ''}:/usr/sbin:/usr/local/sbin`;

/**
 * Mosquitto and mosquitto_passwd, as the shipped configuration needs them. A bare machine (only node and
 * sh on the PATH) has no mosquitto_passwd, and runs no test of the shipped broker configuration.
 */
export const MOSQUITTO_TOOLS =
  findExecutable('mosquitto', MOSQUITTO_PATH) !== undefined &&
  findExecutable('mosquitto_passwd', process.env.PATH) !== undefined;

/** Runs the shipped make-passwords.sh, the logins on its standard input as a person would give them. */
export async function makePasswordFile(path: string, logins: Record<string, string>): Promise<void> {
  const child = spawn('sh', [SHIPPED.makePasswords, path], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stdin.end(
    Object.entries(logins)
      .map(([login, password]) => `${login}:${password}\n`)
      .join(''),
  );
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`make-passwords.sh failed (${code}): ${output}`);
}

export interface ShippedBroker {
  broker: PrivateMosquitto;
  /** A directory of this broker alone, for files a test makes. */
  dir: string;
  close(): Promise<void>;
}

/**
 * A private Mosquitto with the shipped ACL, no anonymous access and a password file of these logins made
 * by the shipped script; its listeners as given (`port` must be the first one's: it counts as up once that
 * one accepts connections).
 */
export async function startShippedBroker(
  logins: Record<string, string>,
  port: number,
  listeners: string[],
): Promise<ShippedBroker> {
  const dir = await mkdtemp(join(tmpdir(), 'propeller-test-broker-'));
  const passwords = join(dir, 'passwords');
  let broker: PrivateMosquitto | undefined;
  const close = async () => {
    await broker?.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await makePasswordFile(passwords, logins);
    broker = new PrivateMosquitto(dir, port, {
      listeners: [
        'allow_anonymous false',
        `password_file ${passwords}`,
        `acl_file ${SHIPPED.acl}`,
        ...listeners,
      ],
    });
    await broker.start();
    return { broker, dir, close };
  } catch (error) {
    await close();
    throw error;
  }
}
