import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after, before } from 'node:test';
import { loadConfig } from '../../src/config/config.ts';
import { freePort } from './free-port.ts';
import { discardIngressSessions } from './manager-harness.ts';
import { deleteKeysWithPrefix } from './redis-cleanup.ts';
import { testEnvironment } from './test-config.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';

const ROOT = new URL('../..', import.meta.url);

export type ManagerProcess = ChildProcess & { output: () => string };

/** The node arguments of `npm start`: the tracing preload, which loads nothing unless MANAGER_OTEL_URL is set. */
export const START_ARGS = [
  '--import',
  'tsx',
  '--import',
  './src/observability/tracing-preload.mjs',
  'src/main.ts',
];

/** The manager as `npm run start:<role>` runs it, with these roles (all when none) and this environment. */
export function spawnManager(roles: string[], env: Record<string, string>): ManagerProcess {
  const child = spawn(process.execPath, [...START_ARGS, ...roles], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return Object.assign(child, { output: () => output });
}

/** Its exit code, once it exits; killed when it takes longer than `timeoutMs`. */
export async function exitCode(child: ChildProcess, timeoutMs = 15_000): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return code;
}

/**
 * Manager processes for one suite (call inside describe): a database and an environment of their own made
 * before its tests; after them, every process still running killed and what they left (the database, broker
 * sessions, Redis keys) removed.
 */
export function managerProcesses(): {
  readonly env: Record<string, string>;
  readonly baseUrl: string;
  readonly children: ManagerProcess[];
  spawn(roles: string[]): ManagerProcess;
} {
  let database: TestDatabase;
  let env: Record<string, string>;
  const children: ManagerProcess[] = [];
  before(async () => {
    database = await createTestDatabase();
    env = testEnvironment(database, {
      MANAGER_HTTP_PORT: String(await freePort()),
      MANAGER_LOG_LEVEL: 'info',
    });
  });
  after(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await database.drop();
    await discardIngressSessions(loadConfig(env, '/nonexistent'));
    await deleteKeysWithPrefix(env.MANAGER_QUEUE_PREFIX!);
  });
  return {
    get env() {
      return env;
    },
    get baseUrl() {
      return `http://127.0.0.1:${env.MANAGER_HTTP_PORT}`;
    },
    children,
    spawn(roles) {
      const child = spawnManager(roles, env);
      children.push(child);
      return child;
    },
  };
}
