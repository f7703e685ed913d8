import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { replaceNulCharacters } from '../../src/mqtt/nul-characters.ts';

describe('NUL characters in MQTT payloads', () => {
  it('replaces them in strings and keys at any depth, leaving everything else as it is', () => {
    const payload = {
      task_id: 'a',
      results: 'x\u0000y',
      nested: [{ 'k\u0000': ['\u0000', 1, null, true] }],
    };
    assert.deepEqual(replaceNulCharacters(payload), {
      task_id: 'a',
      results: 'x\uFFFDy',
      nested: [{ 'k\uFFFD': ['\uFFFD', 1, null, true] }],
    });
    assert.equal(replaceNulCharacters(5), 5);
    assert.equal(replaceNulCharacters(null), null);
  });
});
