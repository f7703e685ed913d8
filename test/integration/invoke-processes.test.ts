import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/config.ts';
import { TaskState } from '../../src/domain/task-state.ts';
import { freePort } from '../support/free-port.ts';
import { discardIngressSessions, request } from '../support/manager-harness.ts';
import { deleteKeysWithPrefix } from '../support/redis-cleanup.ts';
import { SimulatedProplet } from '../support/simulated-proplet.ts';
import { testEnvironment } from '../support/test-config.ts';
import { createTestDatabase } from '../support/test-database.ts';
import { waitFor } from '../support/wait.ts';
import { exitCode, spawnManager, type ManagerProcess } from '../support/manager-process.ts';

const WASM = Buffer.from('0061736d01000000', 'hex').toString('base64');
/** The api waits; the ingress receives the answer; the results role hands it over: three processes. */
const PROCESSES = [['api'], ['ingress'], ['scheduler', 'results', 'liveness']];

describe('invoke across processes', () => {
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

  it('answers an invocation in the api process with what the ingress of another process received', async () => {
    for (const roles of PROCESSES) children.push(spawnManager(roles, env));
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
    proplet.invokeBehaviour = (invoke) => ({ results: `sum of ${invoke.inputs.join(',')}` });
    try {
      await proplet.start();
      await waitFor(
        async () => (await request(baseUrl, 'GET', `/proplets/${proplet.id}`)).body?.alive,
        'proplet alive',
        30_000,
      );
      const task = (await request(baseUrl, 'POST', '/tasks', { name: 'add', file: WASM, latent: true })).body;
      assert.equal((await request(baseUrl, 'POST', `/tasks/${task.id}/start`)).status, 200);
      await waitFor(
        async () => (await request(baseUrl, 'GET', `/tasks/${task.id}`)).body.state === TaskState.Running,
        'deployed',
        30_000,
      );
      const answer = await request(baseUrl, 'POST', `/tasks/${task.id}/invoke`, { inputs: [2, 3] });
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.deepEqual(answer.body, { invoked: true, results: 'sum of 2,3' });
    } finally {
      await proplet.stop();
    }

    for (const child of children) child.kill('SIGTERM');
    for (const [i, child] of children.entries())
      assert.equal(await exitCode(child), 0, `${PROCESSES[i]!.join(',')} exit\n${child.output()}`);
  });
});
