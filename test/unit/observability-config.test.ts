import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/observability/logger.ts';

const load = (env: Record<string, string>) => loadConfig(env, '/nonexistent');

describe('MANAGER_METRICS_PORT', () => {
  it('is 7071 by default, takes a port, 0 for any free one, or off', () => {
    assert.equal(load({}).metricsPort, 7071);
    assert.equal(load({ MANAGER_METRICS_PORT: '9100' }).metricsPort, 9100);
    assert.equal(load({ MANAGER_METRICS_PORT: '0' }).metricsPort, 0);
    assert.equal(load({ MANAGER_METRICS_PORT: 'off' }).metricsPort, undefined);
  });

  it('refuses anything else, naming the variable', () => {
    for (const value of ['70000', 'on', '-1', '80a'])
      assert.throws(
        () => load({ MANAGER_METRICS_PORT: value }),
        (error: unknown) => error instanceof ConfigError && /MANAGER_METRICS_PORT/.test(error.message),
        value,
      );
  });
});

describe('MANAGER_LOG_PRETTY', () => {
  it('is off by default and takes true or false', () => {
    assert.equal(load({}).logPretty, false);
    assert.equal(load({ MANAGER_LOG_PRETTY: 'true' }).logPretty, true);
    assert.equal(load({ MANAGER_LOG_PRETTY: 'false' }).logPretty, false);
    assert.throws(() => load({ MANAGER_LOG_PRETTY: 'yes' }), /MANAGER_LOG_PRETTY/);
  });

  it('writes lines for people, still without the fields that must not be logged', () => {
    let text = '';
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString();
        done();
      },
    });
    const logger = createLogger('info', {}, { pretty: true, destination });
    logger.info({ taskId: 't-1', file: 'AGFzbQEAAAA=' }, 'task created');
    logger.debug('not at info');
    const lines = text.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, text);
    assert.throws(() => JSON.parse(lines[0]!) as unknown, 'not JSON');
    assert.match(lines[0]!, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: task created/);
    assert.match(lines[0]!, /"taskId":"t-1"/);
    assert.ok(!lines[0]!.includes('AGFzbQEAAAA='));
  });
});
