import { existsSync, readFileSync } from 'node:fs';

/**
 * One line of a simulated proplet's log: what it received and what it published, written synchronously
 * before it acts, so that a kill -9 keeps every line of what happened up to it.
 */
export type PropletEvent =
  | { at: number; event: 'hello'; proplet: string; pid: number }
  | { at: number; event: 'connected'; proplet: string }
  | { at: number; event: 'start'; proplet: string; task: string; inputs: string[] }
  /** A start for a task it is running already: ignored, as upstream proplets do. */
  | { at: number; event: 'start-ignored'; proplet: string; task: string }
  /** `copy` 1 is the result; 2 and more are the duplicates the suite injects. */
  | { at: number; event: 'result'; proplet: string; task: string; results: string; copy: number }
  | { at: number; event: 'stop'; proplet: string; task: string; wasRunning: boolean };

/** Every event of one log file; a last line cut short by a kill is dropped. */
export function readPropletLog(path: string): PropletEvent[] {
  if (!existsSync(path)) return [];
  const events: PropletEvent[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      events.push(JSON.parse(line) as PropletEvent);
    } catch {
      // Only the last line of a killed process can be partial.
    }
  }
  return events;
}

/** The value every proplet reports for these inputs: the sum of the numeric ones, as a string. */
export function expectedResult(inputs: readonly (string | number)[]): string {
  return String(inputs.map(Number).reduce((sum, value) => (Number.isFinite(value) ? sum + value : sum), 0));
}

/** Runs begun and not yet ended (by a result or a stop) since the proplet's latest start-up. */
export function openRuns(events: readonly PropletEvent[]): Set<string> {
  const open = new Set<string>();
  for (const event of events) {
    if (event.event === 'hello') open.clear();
    else if (event.event === 'start') open.add(event.task);
    else if ((event.event === 'result' && event.copy === 1) || event.event === 'stop')
      open.delete(event.task);
  }
  return open;
}
