import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { Logger } from '../observability/logger.ts';

const READY_WITHIN_MS = 10_000;

export interface EmbeddedRedis {
  /** The unix socket it listens on (no TCP port, so nothing can clash with another Redis). */
  socketPath: string;
  close(): Promise<void>;
}

/**
 * A private redis-server (or valkey-server) for the queues, listening on a unix socket only. Its
 * append-only file is kept under `dataDir`, so queued starts and results survive a restart as the tasks
 * in PGlite do.
 */
export async function startEmbeddedRedis(
  binary: string,
  dataDir: string,
  logger: Logger,
): Promise<EmbeddedRedis> {
  const directory = join(dataDir, 'redis');
  await mkdir(directory, { recursive: true });
  const pidFile = join(directory, 'redis.pid');
  await stopLeftover(pidFile, logger);
  // A socket path must stay under ~100 bytes; a data directory may be deeper than that.
  const socketDir = await mkdtemp(join(tmpdir(), 'propeller-redis-'));
  const socketPath = join(socketDir, 'redis.sock');
  // BullMQ needs every key kept: with noeviction a full memory refuses writes instead of losing jobs.
  const args = [
    '--port', '0',
    '--unixsocket', socketPath,
    '--unixsocketperm', '700',
    '--dir', directory,
    '--pidfile', pidFile,
    '--save', '',
    '--appendonly', 'yes',
    '--appendfsync', 'everysec',
    '--maxmemory-policy', 'noeviction',
  ]; // prettier-ignore
  // A group of its own: Ctrl-C in a terminal signals the manager, which then stops Redis after the queues
  // are closed; Redis gone first would leave the queues' closing waiting for it.
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2_000)));
  // However the manager ends (a deadline, a second signal), its Redis ends with it.
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);
  let closing = false;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      process.off('exit', killOnExit);
      if (!closing) logger.error({ code, signal, stderr }, 'embedded Redis exited');
      resolve();
    }),
  );
  const spawnFailed = new Promise<never>((_, reject) => child.once('error', reject));

  try {
    await Promise.race([waitUntilAnswering(socketPath), spawnFailed]);
  } catch (error) {
    closing = true;
    child.kill('SIGKILL');
    await rm(socketDir, { recursive: true, force: true });
    throw new Error(
      `could not start ${binary}: ${error instanceof Error ? error.message : String(error)} ${stderr}`.trim(),
      { cause: error },
    );
  }
  logger.info({ binary, socketPath, dataDir: directory }, 'embedded Redis ready');
  return {
    socketPath,
    close: async () => {
      closing = true;
      // SIGTERM makes Redis flush its append-only file before it exits.
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      await rm(socketDir, { recursive: true, force: true });
    },
  };
}

async function waitUntilAnswering(socketPath: string): Promise<void> {
  const deadline = Date.now() + READY_WITHIN_MS;
  for (;;) {
    const probe = new Redis({
      path: socketPath,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.ping();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    } finally {
      probe.disconnect();
    }
    await sleep(20);
  }
}

/**
 * A manager killed with SIGKILL leaves its redis-server running on the same files; two servers must never
 * share them, so the old one is stopped first.
 */
async function stopLeftover(pidFile: string, logger: Logger): Promise<void> {
  const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 0) return;
  // The pid may belong to something else by now (after a reboot): only a Redis is stopped.
  const command = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!/(redis|valkey)-server/.test(command)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return; // not running
  }
  logger.warn({ pid }, 'stopping the embedded Redis a previous manager left running');
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await sleep(50);
  }
  process.kill(pid, 'SIGKILL');
}
