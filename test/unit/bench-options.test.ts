import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseOptions } from '../../bench/lib/options.ts';
import { runKind } from '../../bench/lib/results-file.ts';

const SCENARIOS = ['raw-bullmq', 'http-tasks', 'fleet', 'memory'];

describe('bench options', () => {
  it('runs every scenario at full size by default', () => {
    assert.deepEqual(parseOptions([], SCENARIOS), {
      quick: false,
      only: SCENARIOS,
      scale: 1,
      profile: false,
    });
  });

  it('keeps the suite order for --only, whatever order they are named in', () => {
    const options = parseOptions(['--only', 'memory, raw-bullmq', '--quick', '--scale', '0.5'], SCENARIOS);
    assert.deepEqual(options, { quick: true, only: ['raw-bullmq', 'memory'], scale: 0.5, profile: false });
  });

  it('refuses an unknown scenario, naming it and the known ones', () => {
    assert.throws(
      () => parseOptions(['--only', 'fleet,flet'], SCENARIOS),
      /--only: unknown scenario 'flet'; expected some of raw-bullmq/,
    );
    assert.throws(() => parseOptions(['--only', ','], SCENARIOS), /--only/);
  });

  it('refuses a scale that is not a positive number', () => {
    for (const scale of ['0', '-1', 'big', '1000'])
      assert.throws(
        () => parseOptions([`--scale=${scale}`], SCENARIOS),
        /--scale: expected a number above 0/,
      );
  });

  it('refuses unknown flags and answers --help', () => {
    assert.throws(() => parseOptions(['--fast'], SCENARIOS), /Unknown option '--fast'/);
    assert.equal(parseOptions(['-h'], SCENARIOS), 'help');
  });

  it('calls only a complete run at the issue sizes full, so nothing else replaces latest.json', () => {
    const kind = (argv: string[]) => runKind(parseOptions(argv, SCENARIOS) as never, SCENARIOS);
    assert.equal(kind([]), 'full');
    assert.equal(kind(['--quick']), 'quick');
    assert.equal(kind(['--only', 'fleet']), 'partial');
    assert.equal(kind(['--scale', '2']), 'partial');
    assert.equal(kind(['--only', SCENARIOS.join(',')]), 'full');
  });
});
