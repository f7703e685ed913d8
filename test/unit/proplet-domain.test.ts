import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generatePropletName } from '../../src/domain/proplet-name.ts';
import { embeddedBeatIntervalMs } from '../../src/proplet/embedded-proplets.ts';

/** A random source that returns the given values in turn. */
function sequence(...values: number[]): () => number {
  let index = 0;
  return () => {
    const value = values[index++];
    assert.ok(value !== undefined, 'random() called more often than expected');
    return value;
  };
}

describe('generatePropletName', () => {
  it('is adjective-surname', () => {
    for (let i = 0; i < 50; i++) {
      assert.match(generatePropletName(), /^[a-z]+-[a-z]+$/);
    }
  });

  it('takes the first words when random() is 0', () => {
    assert.equal(generatePropletName(sequence(0, 0)), 'agile-babbage');
  });

  it('takes the last words when random() is just below 1', () => {
    assert.equal(generatePropletName(sequence(0.9999999999, 0.9999999999)), 'zealous-yalow');
  });

  it('is deterministic for a given random source', () => {
    const first = generatePropletName(sequence(0.5, 0.25));
    const second = generatePropletName(sequence(0.5, 0.25));
    assert.equal(first, second);
    assert.notEqual(first, generatePropletName(sequence(0.25, 0.5)));
  });

  it('draws the adjective first and the surname second', () => {
    const [adjective] = generatePropletName(sequence(0, 0.9999999999)).split('-');
    const [, surname] = generatePropletName(sequence(0.9999999999, 0)).split('-');
    assert.equal(adjective, 'agile');
    assert.equal(surname, 'babbage');
  });

  it('stays within the word lists even if random() returns 1', () => {
    assert.equal(
      generatePropletName(() => 1),
      'agile-babbage',
    );
  });
});

describe('embedded proplets', () => {
  it('beat as upstream proplets do, or often enough for a short alive timeout', () => {
    assert.equal(embeddedBeatIntervalMs(25_000), 10_000);
    assert.equal(embeddedBeatIntervalMs(60_000), 10_000);
    assert.equal(embeddedBeatIntervalMs(1_500), 600);
  });
});
