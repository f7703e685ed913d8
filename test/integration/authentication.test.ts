import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { openApiDocument } from '../../src/http/openapi/document.ts';
import { OPERATIONS, type OperationSpec } from '../../src/http/openapi/operations.ts';
import { rateLimit } from '../../src/http/rate-limit/rate-limit.ts';
import { boundPort, closeServer, listen } from '../../src/http/server.ts';
import { buildInfo } from '../../src/observability/build-info.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { freePort } from '../support/free-port.ts';
import { startTestManager, type TestManager } from '../support/manager-harness.ts';
import { exitCode, managerProcesses, spawnManager } from '../support/manager-process.ts';
import { waitFor } from '../support/wait.ts';

/**
 * Authentication and authorization of the api with tokens configured: every documented operation, Bull
 * Board, the pages, /metrics and /events for each kind of caller; the browser login with its cookie; the
 * rate limit; and, in processes, the rule that without tokens nothing binds beyond loopback unless asked.
 */
const secret = (what: string) => `${what}-${randomBytes(12).toString('hex')}`;
const TOKENS = {
  viewer: secret('viewer'),
  operator: secret('operator'),
  admin: secret('admin'),
  /** An operator of its own, to use up its rate limit without touching the others'. */
  burst: secret('burst'),
};
const WRONG = secret('wrong');
const DOCUMENT: any = openApiDocument(buildInfo().version);
/**
 * Changes per token per hour: more than any caller here makes, but for the one that tries; one comes back a
 * minute, so none does while the test runs.
 */
const RATE_LIMIT = 60;

type Caller = 'no token' | 'a wrong token' | 'viewer' | 'operator' | 'admin';
const CALLERS: Caller[] = ['no token', 'a wrong token', 'viewer', 'operator', 'admin'];

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
function headersOf(caller: Caller): Record<string, string> {
  if (caller === 'no token') return {};
  if (caller === 'a wrong token') return bearer(WRONG);
  return bearer(TOKENS[caller]);
}

let harness: TestManager;
let log = '';
let tokenDir: string;

before(async () => {
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      log += chunk.toString();
      done();
    },
  });
  // The admin's token comes from a file, by its digest, as the README shows how to write it.
  tokenDir = await mkdtemp(join(tmpdir(), 'manager-tokens-'));
  const file = join(tokenDir, 'tokens');
  const digest = createHash('sha256').update(TOKENS.admin).digest('hex');
  await writeFile(file, `# the admins\nadmin:admin:sha256:${digest}\n`);
  harness = await startTestManager(
    {
      MANAGER_API_TOKENS: `viewer:viewer:${TOKENS.viewer},operator:operator:${TOKENS.operator},burst:operator:${TOKENS.burst}`,
      MANAGER_API_TOKENS_FILE: file,
      MANAGER_RATE_LIMIT: `${RATE_LIMIT}/h`,
    },
    { logger: createLogger('debug', {}, { destination }) },
  );
});

after(async () => {
  await harness?.close();
  await rm(tokenDir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

/** One request, redirects not followed; a stream (/events) is closed once its status is known. */
async function send(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Answer> {
  const response = await fetch(`${harness.baseUrl}${path}`, { method, headers, body, redirect: 'manual' });
  const streaming = response.headers.get('content-type')?.startsWith('text/event-stream');
  if (streaming) await response.body?.cancel();
  return { status: response.status, headers: response.headers, text: streaming ? '' : await response.text() };
}

/** What each caller may expect: 401, 403, or to get past authentication (any other status). */
function expected(caller: Caller, need: 'none' | 'read' | 'operate' | 'administer'): 401 | 403 | 'allowed' {
  if (need === 'none') return 'allowed';
  if (caller === 'no token' || caller === 'a wrong token') return 401;
  if (caller === 'admin') return 'allowed';
  if (need === 'administer') return 403;
  if (caller === 'viewer' && need === 'operate') return 403;
  return 'allowed';
}

function assertOutcome(answer: Answer, outcome: 401 | 403 | 'allowed', what: string): void {
  if (outcome === 'allowed') {
    assert.ok(answer.status !== 401 && answer.status !== 403, `${what}: ${answer.status} ${answer.text}`);
    return;
  }
  assert.equal(answer.status, outcome, `${what}: ${answer.text}`);
  assert.ok(JSON.parse(answer.text).error, what);
  if (outcome === 401) assert.equal(answer.headers.get('www-authenticate'), 'Bearer realm="propeller"', what);
}

/** A request each operation can take without changing anything: unknown ids, empty bodies. */
function requestFor(operation: OperationSpec): {
  path: string;
  body?: string;
  headers: Record<string, string>;
} {
  const path = operation.path.replace(/\{\w+\}/g, () => randomUUID());
  if (operation.method === 'get') return { path, headers: {} };
  return { path, body: '{}', headers: { 'content-type': 'application/json' } };
}

describe('every documented operation, for each caller', () => {
  for (const operation of OPERATIONS) {
    const method = operation.method.toUpperCase();
    const need = operation.path === '/health' ? 'none' : method === 'GET' ? 'read' : 'operate';
    it(`${method} ${operation.path}`, async () => {
      for (const caller of CALLERS) {
        const { path, body, headers } = requestFor(operation);
        const answer = await send(method, path, { ...headers, ...headersOf(caller) }, body);
        assertOutcome(answer, expected(caller, need), `${method} ${path} with ${caller}`);
        // The document says so too.
        if (answer.status === 401 || answer.status === 403)
          assert.ok(DOCUMENT.paths[operation.path][operation.method].responses[String(answer.status)]);
      }
    });
  }
});

describe('Bull Board, pages, /metrics and /events, for each caller', () => {
  const cases: Array<[string, string, 'read' | 'administer']> = [
    ['GET', '/admin/queues', 'administer'],
    ['GET', '/admin/queues/api/queues', 'administer'],
    // No failed jobs to retry: allowed changes nothing.
    ['PUT', '/admin/queues/api/queues/task-start/retry/failed', 'administer'],
    ['GET', '/Admin/Queues/api/queues', 'administer'],
    ['GET', '/', 'read'],
    ['GET', '/dashboard/dashboard.js', 'read'],
    ['GET', '/dashboard/summary', 'read'],
    ['GET', '/docs', 'read'],
    ['GET', '/docs/swagger-ui.css', 'read'],
    ['GET', '/openapi.json', 'read'],
    ['GET', '/metrics', 'read'],
    ['GET', '/events', 'read'],
  ];
  for (const [method, path, need] of cases)
    it(`${method} ${path}`, async () => {
      for (const caller of CALLERS)
        assertOutcome(
          await send(method, path, headersOf(caller)),
          expected(caller, need),
          `${method} ${path} with ${caller}`,
        );
    });

  it('answers /health to anyone', async () => {
    assert.equal((await send('GET', '/health')).status, 200);
  });

  it('tells an unknown path from a forbidden one only to those with a token', async () => {
    assert.equal((await send('GET', '/no/such/path')).status, 401);
    assert.equal((await send('POST', '/no/such/path', bearer(WRONG))).status, 401);
    assert.equal((await send('GET', '/no/such/path', bearer(TOKENS.viewer))).status, 404);
    assert.equal((await send('GET', '/no/such/path', bearer(TOKENS.admin))).status, 404);
  });

  it('names the role and what it may not do in a 403', async () => {
    const answer = await send('DELETE', `/tasks/${randomUUID()}`, bearer(TOKENS.viewer));
    assert.match(
      JSON.parse(answer.text).error,
      /^token viewer has the role viewer, which may not DELETE \/tasks\//,
    );
    const board = await send('GET', '/admin/queues', bearer(TOKENS.operator));
    assert.match(JSON.parse(board.text).error, /role operator.*needs admin/);
  });

  it('sends helmet headers, and the API a policy that allows nothing', async () => {
    const answer = await send('GET', '/tasks', bearer(TOKENS.viewer));
    assert.equal(answer.headers.get('content-security-policy'), "default-src 'none';frame-ancestors 'none'");
    assert.equal(answer.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(answer.headers.get('x-frame-options'), 'DENY');
    assert.equal(answer.headers.get('referrer-policy'), 'same-origin');
    assert.equal(answer.headers.get('x-powered-by'), null);
    // Refusals too.
    assert.match(
      (await send('GET', '/tasks')).headers.get('content-security-policy') ?? '',
      /default-src 'none'/,
    );
    // Pages have policies of their own, with no inline script anywhere.
    for (const path of ['/', '/docs', '/admin/queues', '/login']) {
      const page = await send('GET', path, bearer(TOKENS.admin));
      const policy = page.headers.get('content-security-policy') ?? '';
      assert.match(policy, /script-src 'self'|default-src 'none'/, path);
      assert.doesNotMatch(policy, /unsafe-eval|script-src[^;]*unsafe-inline/, path);
    }
  });
});

/** The cookie a Set-Cookie header sets, as a browser would send it back. */
function cookieFrom(answer: Answer): string {
  const setCookie = answer.headers.get('set-cookie') ?? '';
  return setCookie.split(';')[0]!;
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

describe('the browser login', () => {
  const origin = () => harness.baseUrl;

  it('sends a browser opening a page without a token to the login form, and returns it there', async () => {
    for (const path of ['/', '/docs', '/admin/queues', '/admin/queues/queue/task-start?status=failed']) {
      const answer = await send('GET', path, { accept: 'text/html,application/xhtml+xml' });
      assert.equal(answer.status, 303, path);
      assert.equal(answer.headers.get('location'), `/login?next=${encodeURIComponent(path)}`);
    }
    // Not a page, or not a browser: the API's 401.
    assert.equal((await send('GET', '/tasks', { accept: 'text/html' })).status, 401);
    assert.equal((await send('GET', '/docs', { accept: '*/*' })).status, 401);
  });

  it('shows the form, without authentication, with where to go next', async () => {
    const page = await send('GET', `/login?next=${encodeURIComponent('/docs')}`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(page.text, /<form method="post" action="login">/);
    assert.match(page.text, /name="next" value="\/docs"/);
    assert.doesNotMatch(page.text, /<script/);
    assert.match(page.headers.get('content-security-policy') ?? '', /form-action 'self'/);
    // With the one file of the pages it needs, and no other.
    assert.equal((await send('GET', '/dashboard/dashboard.css')).status, 200);
    assert.equal((await send('GET', '/dashboard/dashboard.js')).status, 401);
  });

  it('refuses a wrong token with the form again and an error (401), setting no cookie', async () => {
    const answer = await send(
      'POST',
      '/login',
      { ...FORM, origin: origin() },
      form({ token: WRONG, next: '/docs' }),
    );
    assert.equal(answer.status, 401);
    assert.match(answer.text, /That token is not valid/);
    assert.match(answer.text, /name="next" value="\/docs"/);
    assert.equal(answer.headers.get('set-cookie'), null);
    const empty = await send('POST', '/login', FORM, form({ next: '/docs' }));
    assert.equal(empty.status, 401);
  });

  it('logs in: an HttpOnly, SameSite=Strict cookie that authenticates what follows, until logout', async () => {
    const login = await send(
      'POST',
      '/login',
      { ...FORM, origin: origin() },
      form({ token: TOKENS.operator, next: '/docs' }),
    );
    assert.equal(login.status, 303);
    assert.equal(login.headers.get('location'), '/docs');
    const setCookie = login.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /^propeller_token=[^;]+; Path=\/; HttpOnly; SameSite=Strict$/);
    const cookie = cookieFrom(login);

    assert.equal((await send('GET', '/docs', { cookie, accept: 'text/html' })).status, 200);
    assert.equal((await send('GET', '/tasks', { cookie })).status, 200);
    const created = await send(
      'POST',
      '/tasks',
      { cookie, origin: origin(), 'content-type': 'application/json' },
      JSON.stringify({ name: 'from-the-browser' }),
    );
    assert.equal(created.status, 201, created.text);
    // An operator is no admin: Bull Board stays closed.
    assert.equal((await send('GET', '/admin/queues', { cookie })).status, 403);

    const logout = await send('POST', '/logout', { cookie, origin: origin() });
    assert.equal(logout.status, 303);
    assert.equal(logout.headers.get('location'), '/login');
    assert.match(
      logout.headers.get('set-cookie') ?? '',
      /^propeller_token=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0$/,
    );
    // What the browser keeps of the cookie, if anything, authenticates nothing.
    assert.equal((await send('GET', '/tasks', { cookie: cookieFrom(logout) })).status, 401);
  });

  it('refuses a change made with the cookie on behalf of another site (403), and one without the cookie', async () => {
    const login = await send('POST', '/login', FORM, form({ token: TOKENS.operator }));
    const cookie = cookieFrom(login);
    const body = JSON.stringify({ name: 'forged' });
    const json = { 'content-type': 'application/json' };
    const forged = await send('POST', '/tasks', { ...json, cookie, origin: 'http://evil.example' }, body);
    assert.equal(forged.status, 403);
    assert.match(JSON.parse(forged.text).error, /cross-site/);
    const fetched = await send('POST', '/tasks', { ...json, cookie, 'sec-fetch-site': 'cross-site' }, body);
    assert.equal(fetched.status, 403);
    const crossLogin = await send(
      'POST',
      '/login',
      { ...FORM, origin: 'http://evil.example' },
      form({ token: TOKENS.operator }),
    );
    assert.equal(crossLogin.status, 403);
    assert.equal(crossLogin.headers.get('set-cookie'), null);
    assert.equal((await send('POST', '/logout', { origin: 'http://evil.example' })).status, 403);
  });

  it('never redirects off the site after a login', async () => {
    for (const next of ['https://evil.example/', '//evil.example/', '/\\evil.example', 'evil.example']) {
      const answer = await send('POST', '/login', FORM, form({ token: TOKENS.viewer, next }));
      assert.equal(answer.status, 303, next);
      assert.equal(answer.headers.get('location'), '/', next);
      const page = await send('GET', `/login?next=${encodeURIComponent(next)}`);
      assert.match(page.text, /name="next" value="\/"/, next);
    }
  });

  it('lets an admin who logged in see Bull Board', async () => {
    const login = await send('POST', '/login', FORM, form({ token: TOKENS.admin, next: '/admin/queues' }));
    assert.equal(login.headers.get('location'), '/admin/queues');
    const board = await send('GET', '/admin/queues', { cookie: cookieFrom(login), accept: 'text/html' });
    assert.equal(board.status, 200);
    assert.match(board.text, /Propeller queues/);
  });
});

describe('the rate limit', () => {
  it('answers 429 with Retry-After once a token has made its changes, for that token alone', async () => {
    const json = { ...bearer(TOKENS.burst), 'content-type': 'application/json' };
    const statuses = new Set<number>();
    for (let i = 0; i < RATE_LIMIT; i++) statuses.add((await send('POST', '/tasks', json, '{}')).status);
    // Changes tried count, refused or not.
    assert.deepEqual(statuses, new Set([400]));
    const limited = await send('POST', '/tasks', json, '{}');
    assert.equal(limited.status, 429);
    assert.match(JSON.parse(limited.text).error, /rate limit of 60\/h/);
    // One change a minute comes back: the next within a minute.
    const retryAfter = Number(limited.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, String(retryAfter));
    // Reads are not limited, and other tokens have their own allowance.
    assert.equal((await send('GET', '/tasks', bearer(TOKENS.burst))).status, 200);
    assert.equal((await send('POST', '/tasks', { ...json, ...bearer(TOKENS.operator) }, '{}')).status, 400);
  });

  it('counts by client address when there are no tokens', async () => {
    const app = express();
    app.use(rateLimit({ limit: 2, periodMs: 3_600_000, text: '2/h' }));
    app.post('/change', (_req, res) => {
      res.status(204).end();
    });
    const server: Server = await listen(app, '127.0.0.1', 0);
    try {
      const url = `http://127.0.0.1:${boundPort(server)}/change`;
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await fetch(url, { method: 'POST' })).status);
      assert.deepEqual(statuses, [204, 204, 429]);
      const limited = await fetch(url, { method: 'POST' });
      // One an hour: half an hour for the next.
      assert.equal(limited.headers.get('retry-after'), '1800');
    } finally {
      await closeServer(server);
    }
  });
});

describe('the log', () => {
  it('names the token of each request, and never holds a token', async () => {
    await send('GET', '/tasks', bearer(TOKENS.viewer));
    const lines = log
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const requests = lines.filter((line) => line.msg === 'request');
    assert.ok(
      requests.some((line) => line.token === 'viewer' && line.path === '/tasks' && line.status === 200),
    );
    assert.ok(requests.some((line) => line.token === 'operator' && line.status === 403));
    assert.ok(requests.some((line) => line.status === 401 && line.token === undefined));
    assert.ok(lines.some((line) => line.msg === 'logged in' && line.token === 'admin'));
    for (const token of [...Object.values(TOKENS), WRONG])
      assert.ok(!log.includes(token), 'a token in the log');
  });
});

describe('without tokens, in processes', () => {
  const processes = managerProcesses();

  it('refuses to bind beyond loopback, naming MANAGER_HTTP_HOST and the two ways out', async () => {
    const child = spawnManager(['api'], { ...processes.env, MANAGER_HTTP_HOST: '0.0.0.0' });
    assert.equal(await exitCode(child), 2, child.output());
    assert.match(
      child.output(),
      /MANAGER_HTTP_HOST: 0\.0\.0\.0 is not a loopback address .*MANAGER_API_TOKENS or MANAGER_API_TOKENS_FILE, or MANAGER_ALLOW_INSECURE=true/,
    );
  });

  it('binds beyond loopback with MANAGER_ALLOW_INSECURE=true, unauthenticated, and says so', async () => {
    const child = spawnManager(['api'], {
      ...processes.env,
      MANAGER_HTTP_HOST: '0.0.0.0',
      MANAGER_ALLOW_INSECURE: 'true',
    });
    processes.children.push(child);
    const { baseUrl } = processes;
    await waitFor(async () => (await fetch(`${baseUrl}/health`)).status === 200, 'api health', 30_000);
    assert.equal((await fetch(`${baseUrl}/tasks`)).status, 200);
    // No tokens, no login page: everything is as upstream has it.
    assert.equal((await fetch(`${baseUrl}/login`)).status, 404);
    assert.equal(
      (await fetch(`${baseUrl}/`, { headers: { accept: 'text/html' }, redirect: 'manual' })).status,
      200,
    );
    await waitFor(
      () => /"level":40.*HTTP API is unauthenticated.*0\.0\.0\.0/.test(child.output()),
      'the warning',
    );
    child.kill('SIGTERM');
    assert.equal(await exitCode(child), 0, child.output());
  });

  it("asks a worker's /metrics for a token when tokens are configured", async () => {
    const port = await freePort();
    const viewer = secret('metrics-viewer');
    const child = spawnManager(['results'], {
      ...processes.env,
      MANAGER_HTTP_HOST: '0.0.0.0',
      MANAGER_METRICS_PORT: String(port),
      MANAGER_API_TOKENS: `prometheus:viewer:${viewer}`,
    });
    processes.children.push(child);
    const metrics = `http://127.0.0.1:${port}/metrics`;
    const refused = await waitFor(
      async () => {
        const answer = await fetch(metrics).catch(() => undefined);
        return answer?.status === 401 ? answer : undefined;
      },
      'the worker refusing /metrics without a token',
      30_000,
    );
    assert.equal(refused.headers.get('www-authenticate'), 'Bearer realm="propeller"');
    assert.equal((await fetch(metrics, { headers: bearer(WRONG) })).status, 401);
    const scraped = await fetch(metrics, { headers: bearer(viewer) });
    assert.equal(scraped.status, 200);
    assert.match(await scraped.text(), /propeller_build_info/);
    assert.equal((await fetch(`http://127.0.0.1:${port}/other`, { headers: bearer(viewer) })).status, 404);
    child.kill('SIGTERM');
    assert.equal(await exitCode(child), 0, child.output());
    assert.ok(!child.output().includes(viewer), 'the token in the log');
  });
});
