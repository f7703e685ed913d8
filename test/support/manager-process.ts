import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

const ROOT = new URL('../..', import.meta.url);

export type ManagerProcess = ChildProcess & { output: () => string };

/** The manager as `npm run start:<role>` runs it, with these roles (all when none) and this environment. */
export function spawnManager(roles: string[], env: Record<string, string>): ManagerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...roles], {
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
