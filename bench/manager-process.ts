import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

const CLOCK_TICKS = 100;

/**
 * The manager as `npm start` runs it, in a process of its own, so what a benchmark measures of it is not
 * mixed with the load the benchmark generates. BENCH_MANAGER_NODE_ARGS adds node options (e.g. a profiler).
 */
export function spawnManager(env: Record<string, string>): ChildProcess {
  const nodeArgs = (process.env.BENCH_MANAGER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const start = ['--import', 'tsx', '--import', './src/observability/tracing-preload.mjs', 'src/main.ts'];
  return spawn(process.execPath, [...nodeArgs, ...start], {
    cwd: new URL('..', import.meta.url),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** CPU seconds (user + system) and resident memory of a process, from /proc. */
export function processUsage(pid: number): { cpuSeconds: number; rssMiB: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  const rssPages = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
  return { cpuSeconds, rssMiB: Math.round((rssPages * 4096) / 2 ** 20) };
}
