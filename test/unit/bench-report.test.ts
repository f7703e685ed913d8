import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluate, type ScenarioOutcome } from '../../bench/lib/figures.ts';
import { formatNumber, formatTable } from '../../bench/lib/table.ts';

function outcome(name: string, figures: ScenarioOutcome['figures']): ScenarioOutcome {
  return { name, status: 'ok', seconds: 1, figures, failures: [], notes: [], details: {} };
}

const raw = outcome('raw-bullmq', [{ key: 'jobsPerSecond', label: 'jobs/s', value: 10_000, unit: 'jobs/s' }]);
const tasks = (value: number | null) =>
  outcome('http-tasks', [
    {
      key: 'completed',
      label: 'completed tasks/s',
      value,
      unit: 'tasks/s',
      target: { op: '>=', value: 2000 },
      baseline: { of: 'raw-bullmq/jobsPerSecond', atLeast: 0.4 },
    },
  ]);
const latency = (value: number) =>
  outcome('e2e-latency', [{ key: 'p99', label: 'p99', value, unit: 'ms', target: { op: '<=', value: 50 } }]);

describe('bench targets and table', () => {
  it('meets an at-least target and its ratio to the raw limit only when both hold', () => {
    const [, both] = evaluate([raw, tasks(4_500)]);
    assert.equal(both!.ratio, 0.45);
    assert.equal(both!.met, true);
    // Over 2,000 tasks/s but under 40 % of raw: not met.
    const [, ratioMissed] = evaluate([raw, tasks(3_000)]);
    assert.equal(ratioMissed!.met, false);
    const [, targetMissed] = evaluate([raw, tasks(1_000)]);
    assert.equal(targetMissed!.met, false);
  });

  it('meets an at-most target at the limit and not above it', () => {
    assert.equal(evaluate([latency(50)])[0]!.met, true);
    assert.equal(evaluate([latency(50.01)])[0]!.met, false);
  });

  it('judges what it can when the raw scenario did not run, and nothing when the value is missing', () => {
    const [alone] = evaluate([tasks(2_500)]);
    assert.equal(alone!.ratio, null);
    assert.equal(alone!.met, true);
    assert.equal(evaluate([raw, tasks(null)])[1]!.met, null);
  });

  it('prints one aligned row a figure, with target, verdict and ratio', () => {
    const text = formatTable(evaluate([raw, tasks(1_234.4), latency(12.345)]));
    const lines = text.split('\n');
    assert.equal(lines.length, 4);
    assert.match(lines[0]!, /^scenario\s+figure\s+value\s+target\s+met\s+ratio to raw limit$/);
    assert.match(
      lines[2]!,
      /^http-tasks\s+completed tasks\/s\s+1,234 tasks\/s\s+≥ 2,000 tasks\/s, ≥ 40 % of raw\s+NO\s+12\.34 % of raw-bullmq$/,
    );
    assert.match(lines[3]!, /12\.35 ms\s+≤ 50 ms\s+yes$/);
    // The value column is right-aligned: every value ends where the header's "value" does.
    const end = lines[0]!.indexOf('value') + 'value'.length;
    for (const line of lines.slice(1)) assert.match(line.slice(0, end + 1), /\S $/);
    assert.match(formatTable(evaluate([tasks(100)])), /- \(raw-bullmq not run\)/);
  });

  it('shows large numbers whole with separators and small ones with two decimals', () => {
    assert.equal(formatNumber(123_456.7), '123,457');
    assert.equal(formatNumber(3.14159), '3.14');
    assert.equal(formatNumber(0), '0');
  });
});
