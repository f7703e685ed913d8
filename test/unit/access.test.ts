import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import { parseTokenList } from '../../src/config/api-tokens.ts';
import { ACCESS_ROLES, roleAllows, type Access, type AccessRole } from '../../src/domain/access.ts';
import { decideAccess } from '../../src/http/auth/access-decision.ts';
import { credentialsOf, clearedSessionCookie, sessionCookie } from '../../src/http/auth/credentials.ts';
import { loginPage } from '../../src/http/auth/login-page.ts';
import { requiredAccess } from '../../src/http/auth/required-access.ts';
import { safeNext } from '../../src/http/auth/safe-next.ts';
import { isCrossSite } from '../../src/http/auth/same-origin.ts';
import { TokenVerifier } from '../../src/http/auth/token-verifier.ts';

/** Who may do what (pure rules), and the decision the api and worker /metrics take on each request. */
const verifier = new TokenVerifier(
  parseTokenList('v:viewer:view-token,o:operator:op-token,a:admin:admin-token'),
);

describe('roles', () => {
  const grants: Record<AccessRole, Access[]> = {
    admin: ['read', 'operate', 'administer'],
    operator: ['read', 'operate'],
    viewer: ['read'],
  };
  for (const role of ACCESS_ROLES)
    it(`${role} has ${grants[role].join(', ')} and nothing else`, () => {
      for (const access of ['read', 'operate', 'administer'] as const)
        assert.equal(roleAllows(role, access), grants[role].includes(access), access);
    });
});

describe('the access a request needs', () => {
  const cases: Array<[string, string, Access]> = [
    ['GET', '/tasks', 'read'],
    ['HEAD', '/tasks/1', 'read'],
    ['get', '/metrics', 'read'],
    ['GET', '/events', 'read'],
    ['GET', '/openapi.json', 'read'],
    ['GET', '/docs', 'read'],
    ['GET', '/', 'read'],
    ['GET', '/dashboard/summary', 'read'],
    ['POST', '/tasks', 'operate'],
    ['PUT', '/tasks/1/upload', 'operate'],
    ['DELETE', '/proplets/p', 'operate'],
    ['POST', '/jobs/1/start', 'operate'],
    ['POST', '/workflows', 'operate'],
    ['PATCH', '/TASKS/1', 'operate'],
    // Bull Board: reads and actions alike, however the path is spelt (routing ignores case).
    ['GET', '/admin/queues', 'administer'],
    ['GET', '/admin/queues/static/js/main.js', 'administer'],
    ['PUT', '/admin/queues/api/queues/task-start/retry/failed', 'administer'],
    ['GET', '/ADMIN/Queues/', 'administer'],
    ['GET', '/admin/%71ueues', 'administer'],
    ['GET', '//admin//queues', 'administer'],
    // Changes elsewhere are nobody's business but an admin's (they are 404 or 405 anyway).
    ['POST', '/metrics', 'administer'],
    ['DELETE', '/health', 'administer'],
    ['POST', '/tasksx', 'administer'],
    ['OPTIONS', '/tasks', 'operate'],
  ];
  for (const [method, path, access] of cases)
    it(`${method} ${path}: ${access}`, () => assert.equal(requiredAccess(method, path), access));
});

describe('credentials', () => {
  it('reads a bearer token, whatever the case of the scheme', () => {
    assert.deepEqual(credentialsOf({ authorization: 'Bearer abc' }), { token: 'abc', via: 'bearer' });
    assert.deepEqual(credentialsOf({ authorization: 'bearer   abc ' }), { token: 'abc', via: 'bearer' });
  });

  it('judges a request with an Authorization header by it alone', () => {
    const cookie = 'propeller_token=admin-token';
    assert.deepEqual(credentialsOf({ authorization: 'Basic YTpi', cookie }), { token: '', via: 'bearer' });
  });

  it('reads the session cookie among others, percent-decoded', () => {
    assert.deepEqual(credentialsOf({ cookie: 'theme=dark; propeller_token=a%3Bb%20c; x=1' }), {
      token: 'a;b c',
      via: 'cookie',
    });
    assert.deepEqual(credentialsOf({ cookie: 'propeller_token=%E0%A4%A' }), { token: '', via: 'cookie' });
    assert.deepEqual(credentialsOf({ cookie: 'other_token=x' }), { token: undefined, via: 'none' });
    assert.deepEqual(credentialsOf({}), { token: undefined, via: 'none' });
  });

  it('sets a cookie scripts cannot read and other sites cannot send, Secure over HTTPS', () => {
    assert.equal(sessionCookie('a;b', false), 'propeller_token=a%3Bb; Path=/; HttpOnly; SameSite=Strict');
    assert.equal(sessionCookie('t', true), 'propeller_token=t; Path=/; HttpOnly; SameSite=Strict; Secure');
    assert.match(
      clearedSessionCookie(false),
      /^propeller_token=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0$/,
    );
  });
});

describe('the token verifier', () => {
  it('knows each token by its holder, and no other', () => {
    assert.deepEqual(verifier.verify('op-token'), { name: 'o', role: 'operator' });
    assert.deepEqual(verifier.verify('admin-token'), { name: 'a', role: 'admin' });
    for (const wrong of ['', 'op-token ', 'OP-TOKEN', 'op-toke', 'op-tokenn'])
      assert.equal(verifier.verify(wrong), undefined, JSON.stringify(wrong));
  });

  it('accepts a token configured by its digest', () => {
    const hashed = new TokenVerifier(
      parseTokenList('p:viewer:sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae'),
    );
    assert.deepEqual(hashed.verify('foo'), { name: 'p', role: 'viewer' });
  });
});

describe('same-site requests', () => {
  const host = '127.0.0.1:7070';
  it('takes an Origin of the same host as same-site, whatever its scheme', () => {
    assert.equal(isCrossSite({ host, origin: 'http://127.0.0.1:7070' }), false);
    assert.equal(isCrossSite({ host, origin: 'https://127.0.0.1:7070' }), false);
  });

  it('takes another host, port, an opaque or a malformed Origin as cross-site', () => {
    for (const origin of ['http://evil.example', 'http://127.0.0.1:7071', 'null', 'not a url'])
      assert.equal(isCrossSite({ host, origin }), true, origin);
  });

  it('trusts Sec-Fetch-Site, which scripts cannot set, and refuses a sibling subdomain too', () => {
    assert.equal(isCrossSite({ host }), false);
    assert.equal(isCrossSite({ host, 'sec-fetch-site': 'same-origin' }), false);
    assert.equal(isCrossSite({ host, 'sec-fetch-site': 'cross-site' }), true);
    assert.equal(isCrossSite({ host, 'sec-fetch-site': 'same-site' }), true);
    assert.equal(
      isCrossSite({ host, origin: 'http://127.0.0.1:7070', 'sec-fetch-site': 'cross-site' }),
      true,
    );
  });

  it('takes Origin: null as this site only when Sec-Fetch-Site says so (pages under no-referrer)', () => {
    assert.equal(isCrossSite({ host, origin: 'null', 'sec-fetch-site': 'same-origin' }), false);
    assert.equal(isCrossSite({ host, origin: 'null', 'sec-fetch-site': 'cross-site' }), true);
    assert.equal(isCrossSite({ host, origin: 'null' }), true);
  });
});

describe('the access decision', () => {
  const decide = (method: string, path: string, headers: IncomingHttpHeaders) =>
    decideAccess(verifier, { method, path, headers: { host: 'manager:7070', ...headers } });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  it('refuses a request without a token, or with a wrong one (401)', () => {
    assert.deepEqual(decide('GET', '/tasks', {}), {
      outcome: 'unauthenticated',
      message: 'authentication required: send Authorization: Bearer <token>',
      via: 'none',
    });
    assert.equal(decide('GET', '/tasks', bearer('nope')).outcome, 'unauthenticated');
    assert.equal(decide('GET', '/tasks', { cookie: 'propeller_token=nope' }).outcome, 'unauthenticated');
  });

  it("refuses what the token's role may not, naming the role and what it needs (403)", () => {
    const refused = decide('POST', '/tasks', bearer('view-token'));
    assert.equal(refused.outcome, 'forbidden');
    assert.match(
      (refused as { message: string }).message,
      /^token v has the role viewer, which may not POST \/tasks \(that needs admin or operator\)$/,
    );
    const board = decide('GET', '/admin/queues', bearer('op-token'));
    assert.match((board as { message: string }).message, /role operator.*GET \/admin\/queues.*needs admin\)/);
  });

  it('lets through what the role allows, with the holder', () => {
    assert.deepEqual(decide('POST', '/tasks', bearer('op-token')), {
      outcome: 'allowed',
      holder: { name: 'o', role: 'operator' },
      via: 'bearer',
    });
    assert.equal(decide('PUT', '/admin/queues/api/x', bearer('admin-token')).outcome, 'allowed');
    assert.equal(decide('GET', '/metrics', bearer('view-token')).outcome, 'allowed');
  });

  it('refuses a change made with the cookie on behalf of another site, not a read nor a bearer change', () => {
    const cookie = 'propeller_token=op-token';
    const crossSite = decide('POST', '/tasks', { cookie, origin: 'http://evil.example' });
    assert.equal(crossSite.outcome, 'forbidden');
    assert.match((crossSite as { message: string }).message, /cross-site request refused/);
    assert.equal(decide('POST', '/tasks', { cookie, origin: 'http://manager:7070' }).outcome, 'allowed');
    assert.equal(decide('GET', '/tasks', { cookie, origin: 'http://evil.example' }).outcome, 'allowed');
    const byHeader = { ...bearer('op-token'), origin: 'http://evil.example' };
    assert.equal(decide('POST', '/tasks', byHeader).outcome, 'allowed');
  });
});

describe('where a login may send the browser', () => {
  it('keeps paths of this site, with their query and fragment', () => {
    assert.equal(safeNext('/docs'), '/docs');
    assert.equal(
      safeNext('/admin/queues/queue/task-start?status=failed#top'),
      '/admin/queues/queue/task-start?status=failed#top',
    );
    assert.equal(safeNext('/a/../b'), '/b');
  });

  it('replaces anything that could leave the site by the dashboard', () => {
    for (const next of [
      'https://evil.example/',
      '//evil.example/x',
      '/\\evil.example',
      '\\\\evil.example',
      '/\t/evil.example',
      '/\n/evil.example',
      'javascript:alert(1)',
      'docs',
      '',
      `/${'a'.repeat(3000)}`,
      undefined,
      ['/docs'],
    ])
      assert.equal(safeNext(next), '/', JSON.stringify(next));
  });
});

describe('the login page', () => {
  it('escapes what it shows, and has no script', () => {
    const page = loginPage({ next: '/docs?x="><script>alert(1)</script>', error: '<b>no</b>' });
    assert.ok(!page.includes('<script'));
    assert.ok(page.includes('value="/docs?x=&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"'));
    assert.ok(page.includes('&lt;b&gt;no&lt;/b&gt;'));
  });
});
