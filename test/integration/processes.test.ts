import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TaskState } from '../../src/domain/task-state.ts';
import { loadConfig } from '../../src/config/config.ts';
import { discardIngressSessions, request } from '../support/manager-harness.ts';
import { deleteKeysWithPrefix } from '../support/redis-cleanup.ts';
import { SimulatedProplet } from '../support/simulated-proplet.ts';
import { testEnvironment } from '../support/test-config.ts';
import { createTestDatabase } from '../support/test-database.ts';
import { waitFor } from '../support/wait.ts';
import { exitCode, spawnManager, type ManagerProcess } from '../support/manager-process.ts';
import { freePort } from '../support/free-port.ts';

const ROLES = ['api', 'scheduler', 'ingress', 'results', 'liveness'] as const;

describe('manager processes', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let env: Record<string, string>;
  const children: Array<ManagerProcess> = [];

  before(async () => {
    database = await createTestDatabase();
    env = testEnvironment(database, {
      MANAGER_HTTP_PORT: String(await freePort()),
      MANAGER_LOG_LEVEL: 'info',
    });
  });

  after(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await database.drop();
    await discardIngressSessions(loadConfig(env, '/nonexistent'));
    await deleteKeysWithPrefix(env.MANAGER_QUEUE_PREFIX!);
  });

  it('runs a task end to end with each role in its own process, and each stops cleanly on SIGTERM', async () => {
    for (const role of ROLES) children.push(spawnManager([role], env));
    const baseUrl = `http://127.0.0.1:${env.MANAGER_HTTP_PORT}`;
    await waitFor(
      async () => (await request(baseUrl, 'GET', '/health')).status === 200,
      'api health',
      30_000,
    );

    const proplet = new SimulatedProplet({
      tenantId: env.MANAGER_TENANT_ID!,
      channelId: env.MANAGER_CHANNEL_ID!,
    });
    try {
      await proplet.start();
      await waitFor(
        async () => (await request(baseUrl, 'GET', `/proplets/${proplet.id}`)).body?.alive,
        'proplet alive',
        30_000,
      );
      const file = Buffer.from('0061736d01000000', 'hex').toString('base64');
      const task = (await request(baseUrl, 'POST', '/tasks', { name: 'hello', file })).body;
      assert.equal((await request(baseUrl, 'POST', `/tasks/${task.id}/start`)).status, 200);
      const done = await waitFor(
        async () => {
          const current = (await request(baseUrl, 'GET', `/tasks/${task.id}`)).body;
          return current.state === TaskState.Completed ? current : undefined;
        },
        'task completed',
        30_000,
      );
      assert.equal(done.results, 'ran hello');
    } finally {
      await proplet.stop();
    }

    for (const child of children) child.kill('SIGTERM');
    for (const [i, child] of children.entries()) {
      assert.equal(await exitCode(child), 0, `${ROLES[i]} exit\n${child.output()}`);
      assert.match(child.output(), /"msg":"stopped"/);
    }
  });

  it('refuses to start on a bad value, naming the variable', async () => {
    const child = spawnManager([], { ...env, MANAGER_PROPLET_ALIVE_TIMEOUT: 'soon' });
    assert.equal(await exitCode(child), 2);
    assert.match(child.output(), /MANAGER_PROPLET_ALIVE_TIMEOUT: expected a duration/);
  });

  it('refuses an unknown role on the command line', async () => {
    const child = spawnManager(['dispatcher'], env);
    assert.equal(await exitCode(child), 2);
    assert.match(child.output(), /unknown role 'dispatcher'/);
  });
});
