import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from 'commander';
import { duration, integer, keyValue, list, nonNegativeInteger } from '../../src/cli/option-parsers.ts';
import { resultText } from '../../src/cli/result-text.ts';
import { startSpinner } from '../../src/cli/spinner.ts';
import { cell, field, renderRecord, renderTable, stateField } from '../../src/cli/table.ts';

/** The pure parts of the CLI: option values, the table output, the spinner's terminal check. */
describe('option parsers', () => {
  it('reads lists in both forms: split on commas and appended across values', () => {
    assert.deepEqual(list('3', list('2')), ['2', '3']);
    assert.deepEqual(list('2,3'), ['2', '3']);
    assert.deepEqual(list(' 4 ,, 5', ['1']), ['1', '4', '5']);
  });

  it('collects KEY=VALUE pairs (the value may hold "="), and refuses a pair without a key', () => {
    assert.deepEqual(keyValue('B=x=y', keyValue('A=1')), { A: '1', B: 'x=y' });
    assert.deepEqual(keyValue('A=', { A: 'old' }), { A: '' });
    assert.throws(() => keyValue('A'), InvalidArgumentError);
    assert.throws(() => keyValue('=v'), InvalidArgumentError);
  });

  it('reads whole numbers and durations, refusing the rest', () => {
    assert.equal(integer('42'), 42);
    assert.throws(() => integer('4.2'), InvalidArgumentError);
    assert.throws(() => nonNegativeInteger('-1'), InvalidArgumentError);
    assert.equal(duration('30'), 30_000);
    assert.equal(duration('500ms'), 500);
    assert.equal(duration('1.5s'), 1_500);
    assert.equal(duration('2m'), 120_000);
    assert.throws(() => duration('0'), InvalidArgumentError);
    assert.throws(() => duration('soon'), InvalidArgumentError);
  });
});

describe('table output', () => {
  it('aligns columns under their headers, names task states, and shows objects as JSON', () => {
    const text = renderTable(
      [
        { id: 'a', state: 3, results: '5' },
        { id: 'longer', state: 4, results: { p: 1 } },
      ],
      [field('id'), stateField(), field('results')],
    );
    assert.equal(
      text,
      ['ID      STATE      RESULTS', 'a       Completed  5', 'longer  Failed     {"p":1}'].join('\n'),
    );
  });

  it('writes one object as key/value lines, skipping the fields shown elsewhere', () => {
    assert.equal(
      renderRecord({ id: 'x', state: 0, inputs: ['2'], error: null, tasks: [] }, ['tasks']),
      ['id      x', 'state   Pending (0)', 'inputs  ["2"]', 'error'].join('\n'),
    );
  });

  it('prints results as text, JSON for an object, nothing before there is one', () => {
    assert.equal(resultText('5'), '5');
    assert.equal(resultText({ p1: '5' }), '{"p1":"5"}');
    assert.equal(resultText(null), '');
  });

  it("leaves a time not reached (upstream's zero time) blank rather than year 1", () => {
    assert.equal(renderRecord({ start_time: '0001-01-01T00:00:00Z' }), 'start_time');
    assert.equal(cell('2026-12-01T19:59:36.630Z'), '2026-12-01T19:59:36.630Z');
  });
});

describe('spinner', () => {
  const stream = (isTTY: boolean) => {
    const writes: string[] = [];
    return {
      writes,
      stream: { isTTY, write: (text: string) => writes.push(text) } as unknown as NodeJS.WriteStream,
    };
  };

  it('writes nothing when stderr is not a terminal', () => {
    const pipe = stream(false);
    startSpinner('running', pipe.stream).stop();
    assert.deepEqual(pipe.writes, []);
  });

  it('draws its label on a terminal and clears the line when stopped', () => {
    const tty = stream(true);
    const spinner = startSpinner('running task t', tty.stream);
    spinner.stop();
    spinner.stop();
    assert.equal(tty.writes.filter((text) => text === '\r\x1b[2K').length, 1);
    assert.match(tty.writes[0] ?? '', /running task t \(0\.\d s\)$/);
    assert.equal(tty.writes.at(-1), '\r\x1b[2K');
  });
});
