/** What a scenario measured, and what the issue expects of it. */

/** `>=`: at least this much (throughput); `<=`: at most this much (latency, CPU, memory, writes). */
export interface Target {
  op: '>=' | '<=';
  value: number;
}

/** A figure compared with a raw limit measured in the same run (e.g. tasks/s against BullMQ's jobs/s). */
export interface Baseline {
  /** "<scenario>/<figure key>" of the raw figure. */
  of: string;
  /** The least share of it the figure should reach (0.4 = 40 %); none: the ratio is shown only. */
  atLeast?: number;
}

export interface Figure {
  /** Stable name within its scenario (JSON key, used by baselines). */
  key: string;
  /** What people read in the table. */
  label: string;
  /** null: not measured (the scenario failed before it, or the feature is not there). */
  value: number | null;
  unit: string;
  target?: Target;
  baseline?: Baseline;
}

export type ScenarioStatus = 'ok' | 'failed' | 'not available';

export interface ScenarioOutcome {
  name: string;
  status: ScenarioStatus;
  seconds: number;
  figures: Figure[];
  /** Breakage: errors, lost or stuck tasks, wrong results. Any of them fails the run. */
  failures: string[];
  /** What a reader needs to interpret the figures (sizes, modes, how it was measured). */
  notes: string[];
  /** Everything else measured, for the JSON. */
  details: Record<string, unknown>;
}

export interface EvaluatedFigure extends Figure {
  scenario: string;
  /** The figure divided by its baseline's value; null without a baseline or when either is missing. */
  ratio: number | null;
  /** null: nothing to meet (no target), or not measured. */
  met: boolean | null;
}

export function meets(value: number, target: Target): boolean {
  return target.op === '>=' ? value >= target.value : value <= target.value;
}

/** Each figure with its ratio to its baseline (looked up among all outcomes) and whether it met its targets. */
export function evaluate(outcomes: readonly ScenarioOutcome[]): EvaluatedFigure[] {
  const byKey = new Map<string, number | null>();
  for (const outcome of outcomes)
    for (const figure of outcome.figures) byKey.set(`${outcome.name}/${figure.key}`, figure.value);
  return outcomes.flatMap((outcome) =>
    outcome.figures.map((figure): EvaluatedFigure => {
      const base = figure.baseline ? byKey.get(figure.baseline.of) : undefined;
      const ratio =
        figure.value !== null && typeof base === 'number' && base > 0 ? figure.value / base : null;
      // Only what can be judged counts: a ratio without its baseline in this run (--only) is shown as "-".
      const checks: boolean[] = [];
      if (figure.value !== null && figure.target) checks.push(meets(figure.value, figure.target));
      if (figure.baseline?.atLeast !== undefined && ratio !== null)
        checks.push(ratio >= figure.baseline.atLeast);
      return {
        ...figure,
        scenario: outcome.name,
        ratio,
        met: checks.length === 0 ? null : checks.every(Boolean),
      };
    }),
  );
}

/** A latency in milliseconds, with the most it may be when the issue sets a target. */
export function latencyFigure(key: string, label: string, value: number, atMostMs?: number): Figure {
  return {
    key,
    label,
    value,
    unit: 'ms',
    ...(atMostMs === undefined ? {} : { target: { op: '<=' as const, value: atMostMs } }),
  };
}
