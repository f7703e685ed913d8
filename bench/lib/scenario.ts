import type { Figure, ScenarioStatus } from './figures.ts';
import type { ManagerSystem } from './manager-system.ts';

/** What a scenario returns; the runner adds its name and how long it took. */
export interface ScenarioResult {
  /** Default 'ok', or 'failed' when there are failures. */
  status?: ScenarioStatus;
  figures: Figure[];
  failures?: string[];
  notes?: string[];
  details?: Record<string, unknown>;
}

export interface ScenarioContext {
  readonly quick: boolean;
  readonly scale: number;
  /** Node options for every manager process it starts. */
  readonly nodeArgs: string[];
  /** The size to use: `full` (the issue's) or `quick`, times --scale, at least 1. */
  size(full: number, quick: number): number;
  say(line: string): void;
  /** Runs after the scenario, even when it fails, last registered first. */
  defer(cleanUp: () => Promise<void> | void): void;
  /** Runs when the whole run ends (resources later scenarios share), last registered first. */
  deferToEnd(cleanUp: () => Promise<void> | void): void;
  /**
   * One all-in-one manager shared by fleet, stored-tasks and memory, so that memory is measured after the
   * others ran against it; started by the first of them to ask, with that one's environment.
   */
  longLivedManager(env?: Record<string, string>): Promise<ManagerSystem>;
  /** The most RSS the long-lived manager has had so far (sampled twice a second), in MiB. */
  longLivedPeakRssMiB(): number;
  /** Names of the scenarios that ran against the long-lived manager so far. */
  readonly longLivedUsers: string[];
}

export interface Scenario {
  name: string;
  /** One line for the table's reader and the README. */
  summary: string;
  run(context: ScenarioContext): Promise<ScenarioResult>;
}
