import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  FILE_HEAD_BYTES,
  FILE_TAIL_BYTES,
  redactBase64,
  redactFile,
  redactFromPreview,
} from '../../src/domain/file-redaction.ts';

/** The head and tail a task list loads, as the SQL in src/db/task-repository.ts list() selects them. */
function preview(file: Buffer): { head: Buffer; tail: Buffer } {
  const tailStart = 3 * Math.max(Math.ceil(file.length / 3) - FILE_TAIL_BYTES / 3, 0);
  return { head: file.subarray(0, FILE_HEAD_BYTES), tail: file.subarray(tailStart) };
}

describe('redactBase64', () => {
  it('shows base64 of at most 20 characters whole', () => {
    assert.equal(redactBase64(''), '');
    assert.equal(redactBase64('AGFzbQ=='), 'AGFzbQ==');
    assert.equal(redactBase64('a'.repeat(20)), 'a'.repeat(20));
  });

  it('keeps the first and last 10 characters of longer base64', () => {
    const base64 = `${'A'.repeat(10)}x${'Z'.repeat(10)}`;
    assert.equal(redactBase64(base64), `${'A'.repeat(10)}<REDACTED>${'Z'.repeat(10)}`);
  });

  it('matches the upstream example', () => {
    const base64 = Buffer.from('\0asm\x01\0\0\0 some module ending in a derivative').toString('base64');
    const redacted = redactBase64(base64);
    assert.equal(redacted, `${base64.slice(0, 10)}<REDACTED>${base64.slice(-10)}`);
    assert.ok(redacted.startsWith('AGFzbQEAAA'));
  });
});

describe('redactFile', () => {
  it('omits an empty or missing file', () => {
    assert.equal(redactFile(null), undefined);
    assert.equal(redactFile(undefined), undefined);
    assert.equal(redactFile(new Uint8Array()), undefined);
  });

  it('shows a file of up to 15 bytes as its whole base64', () => {
    const file = Buffer.from('\0asm\x01\0\0\0');
    assert.equal(redactFile(file), 'AGFzbQEAAAA=');
    const fifteen = randomBytes(15);
    assert.equal(redactFile(fifteen), fifteen.toString('base64'));
  });

  it('redacts a file of 16 bytes or more', () => {
    const file = randomBytes(16);
    const base64 = file.toString('base64');
    assert.equal(base64.length, 24);
    assert.equal(redactFile(file), `${base64.slice(0, 10)}<REDACTED>${base64.slice(-10)}`);
  });

  it('accepts a plain Uint8Array', () => {
    const bytes = new Uint8Array([0, 97, 115, 109]);
    assert.equal(redactFile(bytes), 'AGFzbQ==');
  });
});

describe('redactFromPreview', () => {
  it('omits an empty file', () => {
    assert.equal(redactFromPreview(0, new Uint8Array(), new Uint8Array()), undefined);
  });

  it('equals redactFile of the whole file for every length from 0 to 80', () => {
    for (let length = 0; length <= 80; length++) {
      for (let sample = 0; sample < 5; sample++) {
        const file = randomBytes(length);
        const { head, tail } = preview(file);
        assert.equal(
          redactFromPreview(length, head, tail),
          redactFile(file),
          `length ${length}, file ${file.toString('hex')}`,
        );
      }
    }
  });

  it('equals redactFile for a large file', () => {
    const file = randomBytes(100_003);
    const { head, tail } = preview(file);
    assert.ok(tail.length <= FILE_TAIL_BYTES);
    assert.equal(redactFromPreview(file.length, head, tail), redactFile(file));
  });

  it('reads the padding of the last base64 group from the tail', () => {
    // 16 bytes: the base64 ends in '==', which only the tail can show.
    const file = Buffer.alloc(16, 0xff);
    const { head, tail } = preview(file);
    const redacted = redactFromPreview(file.length, head, tail);
    assert.ok(redacted?.endsWith('=='));
    assert.equal(redacted, redactFile(file));
  });
});
