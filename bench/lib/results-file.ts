import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EvaluatedFigure, ScenarioOutcome } from './figures.ts';
import type { GitState, Machine } from './machine.ts';
import type { BenchOptions } from './options.ts';

export interface BenchResults {
  generatedAt: string;
  /** full: the sizes, every scenario; anything else is not what the README cites. */
  kind: 'full' | 'quick' | 'partial';
  options: BenchOptions;
  git: GitState;
  machine: Machine & { loadAverageAtEnd: number[] };
  passed: boolean;
  table: EvaluatedFigure[];
  scenarios: ScenarioOutcome[];
}

export function runKind(options: BenchOptions, allScenarios: readonly string[]): BenchResults['kind'] {
  if (options.quick) return 'quick';
  return options.scale === 1 && options.only.length === allScenarios.length ? 'full' : 'partial';
}

/**
 * Every run to `<ISO time>.json`; a full run also to latest.json (committed, cited by the README), a quick or
 * partial one to quick.json or partial.json instead (ignored by git), so neither ever replaces the full run.
 */
export function writeResults(directory: string, results: BenchResults): string[] {
  mkdirSync(directory, { recursive: true });
  const text = `${JSON.stringify(results, null, 2)}\n`;
  const stamped = join(directory, `${results.generatedAt.replace(/[:.]/g, '-')}.json`);
  const named = join(directory, results.kind === 'full' ? 'latest.json' : `${results.kind}.json`);
  for (const path of [stamped, named]) writeFileSync(path, text);
  return [stamped, named];
}
