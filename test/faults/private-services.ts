import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Socket } from 'node:net';
import mqtt from 'mqtt';
import pg from 'pg';
import { findExecutable } from '../../src/config/find-executable.ts';
import { freePort } from '../support/free-port.ts';
import { LoggedProcess, tailFile } from './logged-process.ts';

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;

/** A service the faults kill and bring back: down means killed, as a crash would, never stopped politely. */
export interface PrivateService {
  readonly name: 'postgres' | 'redis' | 'mosquitto';
  readonly up: boolean;
  start(): Promise<void>;
  kill(): Promise<void>;
  /** Its own log, for the report of a failed run. */
  tail(lines: number): string;
  close(): Promise<void>;
}

async function waitUntil(what: string, probe: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what} did not come up within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** The newest Postgres server binaries installed the Debian way (/usr/lib/postgresql/<version>/bin). */
function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((name) => existsSync(join(root, name, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) throw new Error(`no Postgres server under ${root}/*/bin (initdb, pg_ctl)`);
  return join(root, versions[0]!, 'bin');
}

/**
 * Postgres refuses to run as root, so as root its tools run as the postgres user (runuser, else su), on a
 * data directory that user owns.
 */
async function asPostgresUser(command: string, args: string[]): Promise<string> {
  const runuser = findExecutable('runuser', process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin');
  const [file, argv] = !isRoot
    ? [command, args]
    : runuser
      ? [runuser, ['-u', 'postgres', '--', command, ...args]]
      : ['su', ['postgres', '-s', '/bin/sh', '-c', [command, ...args].map(shellQuote).join(' ')]];
  try {
    const { stdout, stderr } = await run(file, argv, { timeout: 60_000 });
    return stdout + stderr;
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} failed: ${failed.message}\n${failed.stdout ?? ''}${failed.stderr ?? ''}`, {
      cause: error,
    });
  }
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

export interface PrivatePostgresOptions {
  /**
   * A PEM certificate and key (their text) to serve TLS with; TCP connections must then use it (pg_hba:
   * hostssl only), and `connection` asks for it without checking the certificate.
   */
  tls?: { cert: string; key: string };
}

export class PrivatePostgres implements PrivateService {
  readonly name = 'postgres';
  up = false;
  private readonly bin = postgresBinDir();
  private readonly home: string;
  private readonly dataDir: string;
  readonly database = 'propeller';
  readonly user = 'postgres';

  constructor(
    root: string,
    readonly port: number,
    private readonly options: PrivatePostgresOptions = {},
  ) {
    this.home = join(root, 'postgres');
    this.dataDir = join(this.home, 'data');
  }

  get logFile(): string {
    return join(this.home, 'server.log');
  }

  async init(): Promise<void> {
    mkdirSync(this.home, { recursive: true });
    if (isRoot) {
      const { uid, gid } = postgresIds();
      chownSync(this.home, uid, gid);
    }
    await asPostgresUser(join(this.bin, 'initdb'), [
      '-D',
      this.dataDir,
      '-A',
      'trust',
      '-U',
      this.user,
      '-E',
      'UTF8',
      // The data directory is thrown away; what fsync protects against (the OS losing its page cache) is
      // not among the faults. The server itself runs with fsync on.
      '--no-sync',
    ]);
    if (this.options.tls) {
      this.writeOwnFile('server.crt', this.options.tls.cert);
      this.writeOwnFile('server.key', this.options.tls.key);
      // Replaces initdb's file (keeping its owner): TCP only over TLS, the socket for pg_ctl as before.
      writeFileSync(
        join(this.dataDir, 'pg_hba.conf'),
        'local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n',
      );
    }
    await this.start();
    const admin = new pg.Client({ ...this.connection, database: 'postgres' });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${this.database}`);
    } finally {
      await admin.end();
    }
  }

  get connection() {
    return {
      host: '127.0.0.1',
      port: this.port,
      user: this.user,
      password: '',
      database: this.database,
      ...(this.options.tls ? { ssl: { rejectUnauthorized: false } } : {}),
    };
  }

  /** Serves TLS with another certificate and key from now on (new connections; Postgres reloads them). */
  async useCertificate(cert: string, key: string): Promise<void> {
    if (!this.options.tls) throw new Error('this Postgres was started without TLS');
    this.writeOwnFile('server.crt', cert);
    this.writeOwnFile('server.key', key);
    await asPostgresUser(join(this.bin, 'pg_ctl'), ['-D', this.dataDir, 'reload']);
  }

  /** A file in its home only the server may read, as Postgres demands of a key. */
  private writeOwnFile(name: string, text: string): void {
    const path = join(this.home, name);
    writeFileSync(path, text, { mode: 0o600 });
    if (isRoot) {
      const { uid, gid } = postgresIds();
      chownSync(path, uid, gid);
    }
  }

  async start(): Promise<void> {
    await asPostgresUser(join(this.bin, 'pg_ctl'), [
      '-D',
      this.dataDir,
      '-l',
      this.logFile,
      '-w',
      '-t',
      '60',
      '-o',
      [
        `-c listen_addresses=127.0.0.1 -p ${this.port}`,
        `-c unix_socket_directories=${this.home}`,
        '-c fsync=on -c synchronous_commit=on',
        // When each task's end was applied (pg_xact_commit_timestamp), for the recovery times.
        '-c track_commit_timestamp=on',
        // Ten manager processes, each with a pool, and the harness.
        '-c max_connections=300',
        ...(this.options.tls
          ? [`-c ssl=on -c ssl_cert_file=${this.home}/server.crt -c ssl_key_file=${this.home}/server.key`]
          : []),
      ].join(' '),
      'start',
    ]);
    this.up = true;
  }

  /** An immediate stop: no checkpoint, every backend gone at once; the next start replays the WAL. */
  async kill(): Promise<void> {
    this.up = false;
    await asPostgresUser(join(this.bin, 'pg_ctl'), ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']);
  }

  tail(lines: number): string {
    return tailFile(this.logFile, lines);
  }

  async close(): Promise<void> {
    if (!existsSync(join(this.dataDir, 'postmaster.pid'))) return;
    await asPostgresUser(join(this.bin, 'pg_ctl'), [
      '-D',
      this.dataDir,
      '-m',
      'immediate',
      '-w',
      'stop',
    ]).catch(() => undefined);
    this.up = false;
  }
}

function postgresIds(): { uid: number; gid: number } {
  // userInfo() reads the current user only; the postgres user's ids come from the password database.
  const line = readPasswd().find((entry) => entry.startsWith('postgres:'));
  if (!line)
    throw new Error(`running as ${userInfo().username}, but there is no postgres user to run Postgres`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function readPasswd(): string[] {
  try {
    return readFileSync('/etc/passwd', 'utf8').split('\n');
  } catch {
    return [];
  }
}

/** A RESP command, as an array of bulk strings (safe for any argument). */
function resp(...args: string[]): string {
  return `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;
}

/**
 * A RESP PING over a plain socket (after AUTH, given a password): +PONG once the server has loaded its
 * append-only file.
 */
function redisPongs(port: number, password?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let answer = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.on('data', (data) => {
      answer += data.toString();
      if (answer.includes('+PONG')) done(true);
      else if (/(^|\n)-/.test(answer)) done(false);
    });
    const auth = password === undefined ? '' : resp('AUTH', password);
    socket.connect(port, '127.0.0.1', () => socket.write(auth + resp('PING')));
  });
}

export interface PrivateRedisOptions {
  /** requirepass: every client must AUTH with it (redis://:password@…). */
  password?: string;
  /** A TLS port beside the plain one, with a PEM certificate and key (file paths); clients need no certificate. */
  tls?: { port: number; cert: string; key: string };
}

/**
 * Redis with an append-only file fsynced on every write (`appendfsync always`): a kill -9 then loses nothing
 * it acknowledged. That is what "nothing lost" needs in production too (docker-compose runs Redis with AOF);
 * the default `everysec` may lose the last second of queue writes.
 */
export class PrivateRedis implements PrivateService {
  readonly name = 'redis';
  private readonly process: LoggedProcess;

  constructor(
    root: string,
    readonly port: number,
    private readonly options: PrivateRedisOptions = {},
  ) {
    const dir = join(root, 'redis');
    mkdirSync(dir, { recursive: true });
    const server =
      findExecutable('redis-server', process.env.PATH) ?? findExecutable('valkey-server', process.env.PATH);
    if (!server) throw new Error('no redis-server (or valkey-server) on the PATH');
    this.process = new LoggedProcess('redis', {
      command: server,
      args: [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--save',
        '',
        '--dir',
        dir,
        '--maxmemory-policy',
        'noeviction',
        '--daemonize',
        'no',
        ...(options.password === undefined ? [] : ['--requirepass', options.password]),
        ...(options.tls === undefined
          ? []
          : [
              '--tls-port',
              String(options.tls.port),
              '--tls-cert-file',
              options.tls.cert,
              '--tls-key-file',
              options.tls.key,
              '--tls-auth-clients',
              'no',
            ]),
      ],
      logFile: join(dir, 'server.log'),
    });
  }

  /** With the password in it, when there is one. */
  get url(): string {
    return `redis://${this.login}127.0.0.1:${this.port}`;
  }

  /** The TLS port's URL; only with the tls option. */
  get tlsUrl(): string {
    if (!this.options.tls) throw new Error('this Redis has no TLS port');
    return `rediss://${this.login}127.0.0.1:${this.options.tls.port}`;
  }

  private get login(): string {
    return this.options.password === undefined ? '' : `:${encodeURIComponent(this.options.password)}@`;
  }

  get up(): boolean {
    return this.process.running;
  }

  async start(): Promise<void> {
    this.process.start();
    await waitUntil('redis', () => redisPongs(this.port, this.options.password));
  }

  kill(): Promise<void> {
    return this.process.kill('SIGKILL');
  }

  tail(lines: number): string {
    return this.process.tail(lines);
  }

  close(): Promise<void> {
    return this.process.close();
  }
}

async function mqttAnswers(url: string): Promise<boolean> {
  try {
    const client = await mqtt.connectAsync(url, {
      protocolVersion: 5,
      reconnectPeriod: 0,
      connectTimeout: 1_000,
    });
    await client.endAsync();
    return true;
  } catch {
    return false;
  }
}

/** Whether something accepts TCP connections on this port of 127.0.0.1. */
function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, '127.0.0.1', () => done(true));
  });
}

export interface PrivateMosquittoOptions {
  /**
   * Configuration lines in place of the plain, anonymous listener on `port`: listeners with TLS,
   * password_file, acl_file. They must open a listener on `port`, which counts as up once it accepts TCP
   * connections (an anonymous MQTT connect may well be refused).
   */
  listeners?: string[];
}

/**
 * Mosquitto saving its persistent sessions every second. A kill -9 can still lose QoS 1 messages it
 * acknowledged since the last save; the manager covers those with each task's execution timeout and retries.
 */
export class PrivateMosquitto implements PrivateService {
  readonly name = 'mosquitto';
  private readonly process: LoggedProcess;

  constructor(
    root: string,
    readonly port: number,
    private readonly options: PrivateMosquittoOptions = {},
  ) {
    const dir = join(root, 'mosquitto');
    mkdirSync(join(dir, 'data'), { recursive: true });
    const conf = join(dir, 'mosquitto.conf');
    writeFileSync(
      conf,
      [
        ...(options.listeners ?? [`listener ${port} 127.0.0.1`, 'allow_anonymous true']),
        'persistence true',
        `persistence_location ${join(dir, 'data')}/`,
        'autosave_interval 1',
        'autosave_on_changes false',
        'max_queued_messages 100000',
        'log_dest stdout',
        'log_type error',
        'log_type warning',
        'log_type notice',
        // As root it would switch to the mosquitto user, who may not write this directory.
        ...(isRoot ? ['user root'] : []),
        '',
      ].join('\n'),
    );
    const broker = findExecutable('mosquitto', `${process.env.PATH ?? ''}:/usr/sbin:/usr/local/sbin`);
    if (!broker) throw new Error('no mosquitto on the PATH (nor in /usr/sbin)');
    this.process = new LoggedProcess('mosquitto', {
      command: broker,
      args: ['-c', conf],
      logFile: join(dir, 'broker.log'),
    });
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get up(): boolean {
    return this.process.running;
  }

  async start(): Promise<void> {
    this.process.start();
    await waitUntil('mosquitto', () =>
      this.options.listeners ? acceptsConnections(this.port) : mqttAnswers(this.url),
    );
  }

  kill(): Promise<void> {
    return this.process.kill('SIGKILL');
  }

  tail(lines: number): string {
    return this.process.tail(lines);
  }

  close(): Promise<void> {
    return this.process.close();
  }
}

export interface PrivateServices {
  postgres: PrivatePostgres;
  redis: PrivateRedis;
  mosquitto: PrivateMosquitto;
  all: PrivateService[];
  close(): Promise<void>;
}

/** Postgres, Redis and Mosquitto of this run alone, on spare ports, their files under `root`. */
export async function startPrivateServices(root: string): Promise<PrivateServices> {
  const postgres = new PrivatePostgres(root, await freePort());
  const redis = new PrivateRedis(root, await freePort());
  const mosquitto = new PrivateMosquitto(root, await freePort());
  const all: PrivateService[] = [postgres, redis, mosquitto];
  const close = async () => {
    await Promise.all(all.map((service) => service.close().catch(() => undefined)));
  };
  try {
    await Promise.all([postgres.init(), redis.start(), mosquitto.start()]);
  } catch (error) {
    await close();
    throw error;
  }
  return { postgres, redis, mosquitto, all, close };
}
