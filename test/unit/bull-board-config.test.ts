import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/config.ts';

/** The environment names every identity, so no config.toml is looked for. */
const IDENTITY = {
  MANAGER_TENANT_ID: 't',
  MANAGER_CHANNEL_ID: 'c',
  MANAGER_ENTITY_ID: 'e',
  MANAGER_API_KEY: 'k',
};

describe('MANAGER_BULLBOARD_READONLY', () => {
  it('leaves Bull Board its actions by default, and when empty', () => {
    assert.equal(loadConfig(IDENTITY, '/nonexistent').bullBoardReadOnly, false);
    assert.equal(
      loadConfig({ ...IDENTITY, MANAGER_BULLBOARD_READONLY: '' }, '/nonexistent').bullBoardReadOnly,
      false,
    );
    assert.equal(
      loadConfig({ ...IDENTITY, MANAGER_BULLBOARD_READONLY: 'false' }, '/nonexistent').bullBoardReadOnly,
      false,
    );
  });

  it('takes them away with true', () => {
    assert.equal(
      loadConfig({ ...IDENTITY, MANAGER_BULLBOARD_READONLY: 'true' }, '/nonexistent').bullBoardReadOnly,
      true,
    );
  });

  it('refuses anything else, naming the variable', () => {
    assert.throws(
      () => loadConfig({ ...IDENTITY, MANAGER_BULLBOARD_READONLY: 'yes' }, '/nonexistent'),
      (error: unknown) => error instanceof ConfigError && /MANAGER_BULLBOARD_READONLY/.test(error.message),
    );
  });
});
