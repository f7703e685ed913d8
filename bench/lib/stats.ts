/**
 * The nearest-rank percentile of already sorted values (p from 0 to 100): the smallest value that at least
 * p % of them do not exceed. NaN for no values, so a scenario that measured nothing cannot look fast.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  if (p <= 0) return sorted[0]!;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

export interface Distribution {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** p50/p90/p99/max/mean of some measurements (milliseconds, say), rounded to 0.01. */
export function distribution(values: readonly number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  const round = (value: number) => Math.round(value * 100) / 100;
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    count: sorted.length,
    p50: round(percentile(sorted, 50)),
    p90: round(percentile(sorted, 90)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.at(-1) ?? Number.NaN),
    mean: round(sorted.length === 0 ? Number.NaN : sum / sorted.length),
  };
}

/** Events per second over a span in milliseconds; 0 for an empty or zero span. */
export function ratePerSecond(count: number, spanMs: number): number {
  return spanMs > 0 ? Math.round((count / spanMs) * 1000) : 0;
}
