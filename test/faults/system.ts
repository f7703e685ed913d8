import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from '../support/free-port.ts';
import { LoggedProcess } from './logged-process.ts';
import type { PrivateServices } from './private-services.ts';
import type { Random } from './random.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export const ROLES = ['api', 'scheduler', 'ingress', 'results', 'liveness'] as const;
export type Role = (typeof ROLES)[number];

/** src/main.ts prints this once every role it runs has started. */
const READY = 'Propeller manager ready';
const READY_WITHIN_MS = 180_000;

export interface RoleInstance {
  readonly role: Role;
  readonly name: string;
  /** The api's port; the same across restarts, as behind a load balancer. */
  readonly port?: number;
  readonly process: LoggedProcess;
  /** Started and printed that it is ready, and not killed since. */
  ready: boolean;
}

export interface UnexpectedExit {
  instance: string;
  at: number;
  /** Exited while starting (a dependency was down, say), rather than crashed after it was ready. */
  whileStarting: boolean;
  code: number | null;
  signal: string | null;
  /** What it said last: why it gave up. */
  tail: string;
}

/**
 * The manager as separate processes, two of every role, against the private services; each restarted after
 * a short random pause when killed, and also when it exits on its own (which is recorded: a role that
 * cannot start while a dependency is down may exit, and is then started again, as an orchestrator would).
 */
export class ManagerSystem {
  readonly instances: RoleInstance[] = [];
  readonly unexpectedExits: UnexpectedExit[] = [];
  readonly env: Record<string, string>;
  private readonly restarts = new Set<Promise<void>>();
  private closing = false;

  private constructor(
    private readonly dir: string,
    services: PrivateServices,
    private readonly random: Random,
    logLevel: string,
  ) {
    this.env = {
      MANAGER_LOG_LEVEL: logLevel,
      MANAGER_POSTGRES_HOST: services.postgres.connection.host,
      MANAGER_POSTGRES_PORT: String(services.postgres.connection.port),
      MANAGER_POSTGRES_USER: services.postgres.connection.user,
      MANAGER_POSTGRES_DB: services.postgres.connection.database,
      MANAGER_REDIS_URL: services.redis.url,
      MANAGER_QUEUE_STORE: 'redis',
      MANAGER_QUEUE_PREFIX: '{faults}',
      MANAGER_MQTT_ADDRESS: services.mosquitto.url,
      MANAGER_MQTT_PROTOCOL_VERSION: '5',
      MANAGER_MQTT_TIMEOUT: '5s',
      MANAGER_TENANT_ID: 'faults-tenant',
      MANAGER_CHANNEL_ID: 'faults-channel',
      MANAGER_ENTITY_ID: 'faults-manager',
      MANAGER_EMBEDDED_PROPLETS: '0',
      MANAGER_DATA_DIR: join(dir, 'data'),
      // Short, so that recovery is quick: a proplet is dead after 3 missed heartbeats of 1 s.
      MANAGER_PROPLET_ALIVE_TIMEOUT: '3s',
      MANAGER_TASK_RETRY_BACKOFF: '200ms',
      MANAGER_TASK_RETRY_BACKOFF_MAX: '2s',
      MANAGER_RECONCILE_INTERVAL: '2s',
      MANAGER_TASK_MAX_RETRIES: '10',
      MANAGER_SHUTDOWN_TIMEOUT: '5s',
      // Ten processes on one host cannot all serve /metrics on the default port.
      MANAGER_METRICS_PORT: '0',
    };
  }

  static async create(
    root: string,
    services: PrivateServices,
    random: Random,
    logLevel: string,
  ): Promise<ManagerSystem> {
    const dir = join(root, 'manager');
    mkdirSync(dir, { recursive: true });
    const system = new ManagerSystem(dir, services, random, logLevel);
    for (const role of ROLES)
      for (const n of [1, 2]) system.add(role, n, role === 'api' ? await freePort() : undefined);
    return system;
  }

  get tenantId(): string {
    return this.env.MANAGER_TENANT_ID!;
  }

  get channelId(): string {
    return this.env.MANAGER_CHANNEL_ID!;
  }

  get apiUrls(): string[] {
    return this.instances.filter((i) => i.role === 'api').map((i) => `http://127.0.0.1:${i.port}`);
  }

  of(role: Role): RoleInstance[] {
    return this.instances.filter((instance) => instance.role === role);
  }

  private add(role: Role, n: number, port: number | undefined): void {
    const name = `${role}-${n}`;
    const instance: RoleInstance = {
      role,
      name,
      port,
      ready: false,
      process: new LoggedProcess(
        name,
        {
          command: process.execPath,
          args: ['--import', 'tsx', 'src/main.ts', role],
          cwd: ROOT,
          env: {
            ...this.env,
            MANAGER_INSTANCE_ID: `faults-${name}`,
            ...(port === undefined ? {} : { MANAGER_HTTP_PORT: String(port) }),
          },
          logFile: join(this.dir, `${name}.log`),
        },
        (code, signal) => {
          const whileStarting = !instance.ready;
          instance.ready = false;
          this.unexpectedExits.push({
            instance: name,
            at: Date.now(),
            whileStarting,
            code,
            signal,
            tail: instance.process.tail(20),
          });
          if (!this.closing) this.track(this.restartAfter(instance, 1_000));
        },
      ),
    };
    this.instances.push(instance);
  }

  /** Starts every instance and waits until each says it is ready. */
  async startAll(): Promise<void> {
    await Promise.all(this.instances.map((instance) => this.startAndWait(instance)));
  }

  private async startAndWait(instance: RoleInstance): Promise<void> {
    instance.process.start();
    try {
      await instance.process.waitForOutput(READY, READY_WITHIN_MS);
      instance.ready = true;
    } catch {
      // It exited before it was ready (and is being restarted), or is still trying: waitReady tells.
    }
  }

  /** Kills it with SIGKILL; it is started again after a random pause of 0.5–2.5 s. */
  async kill(instance: RoleInstance): Promise<void> {
    instance.ready = false;
    await instance.process.kill('SIGKILL');
    this.track(this.restartAfter(instance, this.random.between(500, 2_500)));
  }

  /** Kills them at the same moment; each comes back after its own pause. */
  async killTogether(instances: RoleInstance[]): Promise<void> {
    await Promise.all(instances.map((instance) => this.kill(instance)));
  }

  private async restartAfter(instance: RoleInstance, pauseMs: number): Promise<void> {
    await sleep(pauseMs);
    if (this.closing || instance.process.running) return;
    await this.startAndWait(instance);
  }

  private track(restart: Promise<void>): void {
    this.restarts.add(restart);
    void restart.finally(() => this.restarts.delete(restart));
  }

  /** Until it is running and ready (restarts in progress complete first). */
  async waitReady(instance: RoleInstance, timeoutMs = READY_WITHIN_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!instance.ready) {
      if (Date.now() > deadline) throw new Error(`${instance.name} not ready within ${timeoutMs} ms`);
      await sleep(100);
    }
  }

  /** Until every instance is running and ready. */
  async waitAllReady(timeoutMs = READY_WITHIN_MS): Promise<void> {
    await Promise.all(this.instances.map((instance) => this.waitReady(instance, timeoutMs)));
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.instances.map((instance) => instance.process.close()));
    await Promise.allSettled([...this.restarts]);
  }
}
