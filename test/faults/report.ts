import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import type { Outcome } from './checks.ts';
import { FAULT_KINDS } from './faults.ts';
import type { LoadFigures } from './load.ts';
import type { FaultSuiteOptions } from './options.ts';
import type { FaultRecovery, KindSummary } from './recovery.ts';
import type { FaultKind } from './faults.ts';

export interface Figures {
  generatedAt: string;
  passed: boolean;
  options: Omit<FaultSuiteOptions, 'keep' | 'resultsFile'>;
  machine: { cpus: number; node: string };
  seconds: { total: number; setup: number; load: number; drain: number };
  tasks: Outcome['counts'];
  load: Pick<LoadFigures, 'retried' | 'createsFoundByLookup' | 'startsFoundStarted' | 'startConflicts'>;
  faults: { byKind: Partial<Record<FaultKind, KindSummary>>; list: FaultRecovery[] };
  unexpectedExits: Array<{
    process: string;
    atS: number;
    whileStarting: boolean;
    code: number | null;
    signal: string | null;
    said: string;
  }>;
  checks: Outcome['checks'];
  failedTasks: Outcome['failedTasks'];
}

export function figuresOf(parts: {
  options: FaultSuiteOptions;
  outcome: Outcome;
  load: LoadFigures;
  recovery: { faults: FaultRecovery[]; byKind: Partial<Record<FaultKind, KindSummary>> };
  unexpectedExits: Figures['unexpectedExits'];
  seconds: Figures['seconds'];
}): Figures {
  const { keep: _keep, resultsFile: _file, ...options } = parts.options;
  return {
    generatedAt: new Date().toISOString(),
    passed: parts.outcome.checks.every((check) => check.passed || check.observation),
    options,
    machine: { cpus: cpus().length, node: process.version },
    seconds: parts.seconds,
    tasks: parts.outcome.counts,
    load: {
      retried: parts.load.retried,
      createsFoundByLookup: parts.load.createsFoundByLookup,
      startsFoundStarted: parts.load.startsFoundStarted,
      startConflicts: parts.load.startConflicts,
    },
    faults: { byKind: parts.recovery.byKind, list: parts.recovery.faults },
    unexpectedExits: parts.unexpectedExits,
    checks: parts.outcome.checks,
    failedTasks: parts.outcome.failedTasks,
  };
}

const seconds = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1_000).toFixed(1)} s`);

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
        .join('  '),
    )
    .join('\n');
}

/** The figures as people read them: the checks, then the counts, then recovery by fault kind. */
export function formatFigures(figures: Figures): string {
  const t = figures.tasks;
  const lines: string[] = [];
  lines.push('checks:');
  for (const check of figures.checks) {
    const mark = check.passed ? 'ok  ' : check.observation ? 'note' : 'FAIL';
    lines.push(`  ${mark} ${check.name}`);
    for (const detail of check.details) lines.push(`         ${detail}`);
  }
  if (figures.failedTasks.length > 0) {
    lines.push(`failed tasks (${figures.failedTasks.length}):`);
    for (const task of figures.failedTasks.slice(0, 20))
      lines.push(`  ${task.id}: ${task.error ?? ''} [${task.attempts}]`);
  }
  lines.push('');
  lines.push(
    table([
      ['figure', 'value'],
      ['tasks submitted', String(t.tasks)],
      ['task rows', String(t.taskRows)],
      ['completed', String(t.completed)],
      ['failed', String(t.failed)],
      ['lost', String(t.lost)],
      ['stuck at the end', String(t.stuck)],
      ['duplicate creates', String(t.duplicateCreates)],
      [
        'duplicate results published',
        `${t.duplicateResultsPublished} (${t.lateDuplicateResultsPublished} late)`,
      ],
      ['re-dispatched tasks (attempt rows > 1)', String(t.redispatchedTasks)],
      ['re-dispatches (extra attempt rows)', String(t.redispatches)],
      ['highest attempt', String(t.maxAttempt)],
      ['tasks run on several proplets (logs)', String(t.tasksOnSeveralProplets)],
      ['extra starts received (logs)', String(t.extraStartsLogged)],
      ['runs beyond attempts (same attempt run again)', String(t.runsBeyondAttempts)],
      [
        'requests retried',
        Object.entries(figures.load.retried)
          .map(([cause, n]) => `${cause}: ${n}`)
          .join(', ') || '0',
      ],
      ['lost creates found by metadata', String(figures.load.createsFoundByLookup)],
      ['lost starts found started', String(figures.load.startsFoundStarted)],
      ['unexpected process exits', String(figures.unexpectedExits.length)],
      [
        'time (setup / load / drain / total)',
        `${figures.seconds.setup} / ${figures.seconds.load} / ${figures.seconds.drain} / ${figures.seconds.total} s`,
      ],
    ]),
  );
  lines.push('');
  const kinds = FAULT_KINDS.filter((kind) => figures.faults.byKind[kind]);
  lines.push(
    table([
      ['fault', 'count', 'recovered max', 'median', 'health back max', 'median'],
      ...kinds.map((kind) => {
        const k = figures.faults.byKind[kind]!;
        return [
          kind,
          String(k.count),
          seconds(k.recoveredMaxMs),
          seconds(k.recoveredMedianMs),
          seconds(k.healthBackMaxMs),
          seconds(k.healthBackMedianMs),
        ];
      }),
    ]),
  );
  lines.push('');
  lines.push('faults:');
  for (const fault of figures.faults.list)
    lines.push(
      `  ${`${fault.atS.toFixed(1)} s`.padStart(7)}  ${fault.kind.padEnd(15)} ${fault.target.padEnd(22)} down ${seconds(fault.downMs).padStart(6)}  recovered ${seconds(fault.recoveredMs).padStart(6)}${fault.healthBackMs === undefined ? '' : `  health ${seconds(fault.healthBackMs)}`}${fault.lostRuns === undefined ? '' : `  runs lost ${fault.lostRuns}`}`,
    );
  if (figures.unexpectedExits.length > 0) {
    lines.push('unexpected exits:');
    for (const exit of figures.unexpectedExits)
      lines.push(
        `  ${exit.atS.toFixed(1)} s ${exit.process} ${exit.whileStarting ? 'while starting' : 'CRASHED'} (code ${exit.code}, signal ${exit.signal}): ${exit.said}`,
      );
  }
  lines.push('');
  lines.push(`${figures.passed ? 'PASSED' : 'FAILED'} (seed ${figures.options.seed})`);
  return lines.join('\n');
}

export function writeFigures(path: string, figures: Figures): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(figures, null, 2)}\n`);
}
