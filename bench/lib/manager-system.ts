import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import pg from 'pg';
import { ROLES } from '../../src/config/roles.ts';
import { loadConfig } from '../../src/config/config.ts';
import { freePort } from '../../test/support/free-port.ts';
import { discardIngressSessions } from '../../test/support/manager-harness.ts';
import { START_ARGS } from '../../test/support/manager-process.ts';
import { deleteKeysWithPrefix } from '../../test/support/redis-cleanup.ts';
import { testEnvironment } from '../../test/support/test-config.ts';
import { createTestDatabase, type TestDatabase } from '../../test/support/test-database.ts';
import { waitFor } from '../../test/support/wait.ts';
import { totalUsage, type ProcessUsage } from './process-usage.ts';

const ROOT = new URL('../..', import.meta.url);
const READY = 'Propeller manager ready';
/** What is kept of a process's output, for the error when it dies. */
const TAIL_CHARS = 8_000;
/** Five processes starting at once on two loaded cores can take a while. */
const READY_WITHIN_MS = 90_000;

/** `all-in-one`: every role in one process (`npm start`); `per-role`: each role its own process. */
export type Layout = 'all-in-one' | 'per-role';

export interface SystemOptions {
  layout: Layout;
  /** Node options for every manager process (a profiler, say). */
  nodeArgs: string[];
  /** Manager environment on top of the isolated one (fresh database, Redis prefix, MQTT tenant/channel). */
  env?: Record<string, string>;
}

interface RoleProcess {
  name: string;
  child: ChildProcess;
  tail: () => string;
  ready: () => boolean;
}

/**
 * The manager as it is deployed, in processes of its own so that what is measured of it is not mixed with
 * the load, against the local Postgres, Redis and Mosquitto, in a database, Redis prefix and MQTT channel
 * of its own that stop() removes.
 */
export class ManagerSystem {
  private constructor(
    readonly layout: Layout,
    readonly env: Record<string, string>,
    readonly database: TestDatabase,
    /** For the benchmark's own checks and inserts; the manager has its own connections. */
    readonly pool: pg.Pool,
    private readonly processes: RoleProcess[],
  ) {}

  static async start(options: SystemOptions): Promise<ManagerSystem> {
    const database = await createTestDatabase();
    const env = testEnvironment(database, {
      MANAGER_HTTP_PORT: String(await freePort()),
      MANAGER_LOG_LEVEL: 'warn',
      MANAGER_PROPLET_ALIVE_TIMEOUT: '10s',
      // Dispatch waits for no timeout: tasks queued behind a backlog must not be failed as not started.
      MANAGER_START_TIMEOUT: '10m',
      ...options.env,
    });
    const pool = new pg.Pool({ ...database.connection, database: database.name, max: 4 });
    // An idle connection the server ends (its database dropped from outside, say) emits on the pool: without a
    // listener that ends the whole run; the next query meets the failure and the scenario reports it.
    pool.on('error', () => undefined);
    const roles = options.layout === 'all-in-one' ? [[]] : ROLES.map((role) => [role]);
    const processes = roles.map((args) => spawnRole(args, env, options.nodeArgs));
    const system = new ManagerSystem(options.layout, env, database, pool, processes);
    try {
      await Promise.all(processes.map((role) => system.waitReady(role)));
      await waitFor(async () => (await fetch(`${system.baseUrl}/health`)).ok, 'manager healthy', 30_000);
    } catch (error) {
      await system.stop();
      throw error;
    }
    return system;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.env.MANAGER_HTTP_PORT}`;
  }

  get topics(): { tenantId: string; channelId: string } {
    return { tenantId: this.env.MANAGER_TENANT_ID!, channelId: this.env.MANAGER_CHANNEL_ID! };
  }

  get pids(): number[] {
    return this.processes.map((role) => role.child.pid!).filter(Boolean);
  }

  /** CPU and RSS of all its processes together. */
  usage(): ProcessUsage {
    return totalUsage(this.pids);
  }

  /** Processes that exited while they should run, with what they last said: breakage. */
  deaths(): string[] {
    return this.processes
      .filter((role) => role.child.exitCode !== null || role.child.signalCode !== null)
      .map(
        (role) =>
          `manager ${role.name} exited (${role.child.exitCode ?? role.child.signalCode}): ${role.tail().trim().split('\n').slice(-5).join(' | ')}`,
      );
  }

  private async waitReady(role: RoleProcess): Promise<void> {
    await waitFor(
      () => {
        if (role.child.exitCode !== null) throw new Error(this.deaths().join('; '));
        return role.ready();
      },
      `manager ${role.name} ready`,
      READY_WITHIN_MS,
    ).catch((error: unknown) => {
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n${role.tail()}`);
    });
  }

  /** Stops every process gracefully (SIGKILL after 20 s), then removes its database, sessions and keys. */
  async stop(): Promise<void> {
    await Promise.all(
      this.processes.map(async ({ child }) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await exited;
        clearTimeout(timer);
      }),
    );
    await this.pool.end().catch(() => undefined);
    await this.database.drop();
    await discardIngressSessions(loadConfig(this.env, '/nonexistent'));
    await deleteKeysWithPrefix(this.env.MANAGER_QUEUE_PREFIX!);
  }
}

function spawnRole(roles: string[], env: Record<string, string>, nodeArgs: string[]): RoleProcess {
  const child = spawn(process.execPath, [...nodeArgs, ...START_ARGS, ...roles], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  let ready = false;
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-TAIL_CHARS);
    ready ||= tail.includes(READY);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  return { name: roles[0] ?? 'all', child, tail: () => tail, ready: () => ready };
}
