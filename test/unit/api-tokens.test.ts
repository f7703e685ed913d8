import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig, type Config } from '../../src/config/config.ts';
import { isLoopbackHost } from '../../src/config/exposure.ts';

/** Tokens and the configuration they come from: MANAGER_API_TOKENS, MANAGER_API_TOKENS_FILE, the bind rule. */
const dir = mkdtempSync(join(tmpdir(), 'manager-tokens-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function tokenFile(text: string): string {
  const path = join(dir, `tokens-${++files}`);
  writeFileSync(path, text);
  return path;
}

const load = (env: Record<string, string>): Config => loadConfig(env, dir);
const hex = (token: string) => createHash('sha256').update(token).digest('hex');
const summary = (config: Config) =>
  config.auth.tokens.map(({ name, role, digest }) => ({ name, role, digest: digest.toString('hex') }));

/** Start-up is refused, naming the variable (and what else is given), and never showing a secret. */
function refused(env: Record<string, string>, pattern: RegExp, secrets: string[] = []): void {
  assert.throws(
    () => load(env),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
      assert.match(error.message, pattern);
      for (const secret of secrets)
        assert.ok(!error.message.includes(secret), `${secret} in: ${error.message}`);
      return true;
    },
  );
}

describe('MANAGER_API_TOKENS', () => {
  it('reads a comma list of name:role:token, keeping only digests', () => {
    const config = load({ MANAGER_API_TOKENS: ' ci:operator:s3cr3t , root:admin:t0p:with:colons ,' });
    assert.deepEqual(summary(config), [
      { name: 'ci', role: 'operator', digest: hex('s3cr3t') },
      { name: 'root', role: 'admin', digest: hex('t0p:with:colons') },
    ]);
    assert.ok(!JSON.stringify(config).includes('s3cr3t'));
  });

  it('takes a sha256: digest in place of a token', () => {
    const config = load({ MANAGER_API_TOKENS: `grafana:viewer:sha256:${hex('look').toUpperCase()}` });
    assert.deepEqual(summary(config), [{ name: 'grafana', role: 'viewer', digest: hex('look') }]);
  });

  it('means no authentication when unset or empty', () => {
    assert.deepEqual(load({}).auth, { tokens: [], allowInsecure: false });
    assert.deepEqual(load({ MANAGER_API_TOKENS: '' }).auth.tokens, []);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['a field missing', 'ci:s3cr3tvalue', /MANAGER_API_TOKENS: entry 1: expected name:role:token/],
    ['an unknown role', 'ok:viewer:a,ci:s3cr3tvalue:x', /MANAGER_API_TOKENS: entry 2 \(ci\): unknown role/],
    ['an empty token', 'ci:operator:  ', /MANAGER_API_TOKENS: entry 1 \(ci\): empty token/],
    ['an empty name', ':operator:s3cr3tvalue', /entry 1: the name must be/],
    ['a name with spaces', 'c i:operator:s3cr3tvalue', /entry 1: the name must be/],
    ['a short digest', 'ci:operator:sha256:abc', /entry 1 \(ci\): sha256: must be followed by 64/],
    ['only commas', ' , ,', /MANAGER_API_TOKENS: the list holds no token/],
    ['a name given twice', 'ci:operator:one,ci:viewer:two', /MANAGER_API_TOKENS: the name ci is given twice/],
    [
      'one token under two names',
      'a:operator:s3cr3tvalue,b:viewer:s3cr3tvalue',
      /a and b have the same token/,
    ],
  ];
  for (const [what, value, pattern] of bad)
    it(`refuses ${what}, without showing the token`, () => {
      refused({ MANAGER_API_TOKENS: value }, pattern, ['s3cr3tvalue']);
    });
});

describe('MANAGER_API_TOKENS_FILE', () => {
  it('reads one entry per line, with blank lines, comments and sha256 lines', () => {
    const path = tokenFile(
      [
        '# Tokens of the staging manager',
        '',
        'ci:operator:s3cr3t',
        `  prometheus:viewer:sha256:${hex('scrape')}  `,
        '\t# indented comment',
        'root:admin:t0p',
      ].join('\r\n'),
    );
    assert.deepEqual(summary(load({ MANAGER_API_TOKENS_FILE: path })), [
      { name: 'ci', role: 'operator', digest: hex('s3cr3t') },
      { name: 'prometheus', role: 'viewer', digest: hex('scrape') },
      { name: 'root', role: 'admin', digest: hex('t0p') },
    ]);
  });

  it('is read relative to the working directory', () => {
    writeFileSync(join(dir, 'relative-tokens'), 'ci:viewer:x\n');
    assert.equal(load({ MANAGER_API_TOKENS_FILE: 'relative-tokens' }).auth.tokens.length, 1);
  });

  it('adds to MANAGER_API_TOKENS', () => {
    const path = tokenFile('file:viewer:from-file\n');
    const config = load({ MANAGER_API_TOKENS: 'env:admin:from-env', MANAGER_API_TOKENS_FILE: path });
    assert.deepEqual(
      config.auth.tokens.map((token) => token.name),
      ['env', 'file'],
    );
  });

  it('refuses a name given in both, naming both variables', () => {
    const path = tokenFile('ci:viewer:other\n');
    refused(
      { MANAGER_API_TOKENS: 'ci:admin:one', MANAGER_API_TOKENS_FILE: path },
      /MANAGER_API_TOKENS, MANAGER_API_TOKENS_FILE: the name ci is given twice/,
    );
  });

  const bad: Array<[string, string, RegExp]> = [
    [
      'a bad line, by its number',
      '# ok\nci:viewer:a\n\ns3cr3tvalue\n',
      /MANAGER_API_TOKENS_FILE: line 4: expected/,
    ],
    ['an unknown role', 'ci:root:s3cr3tvalue', /MANAGER_API_TOKENS_FILE: line 1 \(ci\): unknown role/],
    ['an empty token', 'a:viewer:x\nci:viewer:', /MANAGER_API_TOKENS_FILE: line 2 \(ci\): empty token/],
    ['a digest that is not hex', `ci:viewer:sha256:${'g'.repeat(64)}`, /line 1 \(ci\): sha256: must be/],
    ['a duplicate name', 'ci:viewer:s3cr3tvalue\nci:admin:other', /the name ci is given twice/],
    ['a file with comments only', '# nothing yet\n\n', /MANAGER_API_TOKENS_FILE: the file holds no token/],
  ];
  for (const [what, text, pattern] of bad)
    it(`refuses ${what}, without showing the token`, () => {
      refused({ MANAGER_API_TOKENS_FILE: tokenFile(text) }, pattern, ['s3cr3tvalue']);
    });

  it('refuses a missing file, naming the variable and the path', () => {
    refused(
      { MANAGER_API_TOKENS_FILE: join(dir, 'no-such-file') },
      /MANAGER_API_TOKENS_FILE: cannot read .*no-such-file \(ENOENT\)/,
    );
  });
});

describe('binding beyond loopback', () => {
  it('knows loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST'])
      assert.ok(isLoopbackHost(host), host);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', 'manager.example', '128.0.0.1', '127.0.0.1.example'])
      assert.ok(!isLoopbackHost(host), host);
  });

  it('is refused without tokens, naming MANAGER_HTTP_HOST and both ways out', () => {
    refused(
      { MANAGER_HTTP_HOST: '0.0.0.0' },
      /MANAGER_HTTP_HOST: 0\.0\.0\.0 is not a loopback address.*MANAGER_API_TOKENS or MANAGER_API_TOKENS_FILE, or MANAGER_ALLOW_INSECURE=true/,
    );
    // A worker binds the host for /metrics as well.
    refused({ MANAGER_HTTP_HOST: '10.1.2.3', MANAGER_ROLES: 'scheduler' }, /MANAGER_HTTP_HOST/);
  });

  it('is allowed with tokens, with MANAGER_ALLOW_INSECURE=true, or when nothing binds it', () => {
    assert.equal(
      load({ MANAGER_HTTP_HOST: '0.0.0.0', MANAGER_API_TOKENS: 'ci:viewer:x' }).http.host,
      '0.0.0.0',
    );
    assert.equal(load({ MANAGER_HTTP_HOST: '::', MANAGER_ALLOW_INSECURE: 'true' }).auth.allowInsecure, true);
    const worker = load({
      MANAGER_HTTP_HOST: '0.0.0.0',
      MANAGER_ROLES: 'results',
      MANAGER_METRICS_PORT: 'off',
    });
    assert.equal(worker.metricsPort, undefined);
  });

  it('refuses a MANAGER_ALLOW_INSECURE that is not true or false', () => {
    refused({ MANAGER_ALLOW_INSECURE: 'yes' }, /MANAGER_ALLOW_INSECURE/);
  });
});

describe('MANAGER_RATE_LIMIT', () => {
  it('is off unless set', () => {
    assert.equal(load({}).rateLimit, undefined);
    assert.equal(load({ MANAGER_RATE_LIMIT: 'off' }).rateLimit, undefined);
  });

  it('reads n per second, minute or hour', () => {
    assert.deepEqual(load({ MANAGER_RATE_LIMIT: '100/s' }).rateLimit, {
      limit: 100,
      periodMs: 1_000,
      text: '100/s',
    });
    assert.deepEqual(load({ MANAGER_RATE_LIMIT: ' 6000/m ' }).rateLimit, {
      limit: 6000,
      periodMs: 60_000,
      text: '6000/m',
    });
    assert.equal(load({ MANAGER_RATE_LIMIT: '1/h' }).rateLimit?.periodMs, 3_600_000);
  });

  for (const value of ['100', '0/s', '10/d', '1.5/s', '-1/s', 'ten/s', '100 / s', '2000000000/s'])
    it(`refuses '${value}'`, () => {
      refused({ MANAGER_RATE_LIMIT: value }, /MANAGER_RATE_LIMIT: expected off or <n>\/<s\|m\|h>/);
    });
});
