import { readFileSync } from 'node:fs';

const CLOCK_TICKS = 100;
const PAGE_BYTES = 4096;

export interface ProcessUsage {
  /** User + system CPU seconds since the process started. */
  cpuSeconds: number;
  rssMiB: number;
}

/** CPU time and resident memory of a process, from /proc (Linux); zero once it has exited. */
export function processUsage(pid: number): ProcessUsage {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    const rssPages = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
    return { cpuSeconds, rssMiB: Math.round((rssPages * PAGE_BYTES) / 2 ** 20) };
  } catch {
    return { cpuSeconds: 0, rssMiB: 0 };
  }
}

/** Several processes (the roles of one manager) as one: CPU summed, RSS summed. */
export function totalUsage(pids: readonly number[]): ProcessUsage {
  return pids.map(processUsage).reduce(
    (total, usage) => ({
      cpuSeconds: total.cpuSeconds + usage.cpuSeconds,
      rssMiB: total.rssMiB + usage.rssMiB,
    }),
    { cpuSeconds: 0, rssMiB: 0 },
  );
}
