import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TaskState } from '../../src/domain/task-state.ts';
import { request, untilPropletAlive } from '../support/manager-harness.ts';
import { SimulatedProplet } from '../support/simulated-proplet.ts';
import { waitFor } from '../support/wait.ts';
import { exitCode, managerProcesses, spawnManager } from '../support/manager-process.ts';

const ROLES = ['api', 'scheduler', 'ingress', 'results', 'liveness'] as const;

describe('manager processes', () => {
  const processes = managerProcesses();

  it('runs a task end to end with each role in its own process, and each stops cleanly on SIGTERM', async () => {
    for (const role of ROLES) processes.spawn([role]);
    const { baseUrl } = processes;
    await waitFor(
      async () => (await request(baseUrl, 'GET', '/health')).status === 200,
      'api health',
      30_000,
    );

    const proplet = new SimulatedProplet({
      tenantId: processes.env.MANAGER_TENANT_ID!,
      channelId: processes.env.MANAGER_CHANNEL_ID!,
    });
    try {
      await proplet.start();
      await untilPropletAlive(baseUrl, proplet.id, 30_000);
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

    for (const child of processes.children) child.kill('SIGTERM');
    for (const [i, child] of processes.children.entries()) {
      assert.equal(await exitCode(child), 0, `${ROLES[i]} exit\n${child.output()}`);
      assert.match(child.output(), /"msg":"stopped"/);
    }
  });

  it('refuses to start on a bad value, naming the variable', async () => {
    const child = spawnManager([], { ...processes.env, MANAGER_PROPLET_ALIVE_TIMEOUT: 'soon' });
    assert.equal(await exitCode(child), 2);
    assert.match(child.output(), /MANAGER_PROPLET_ALIVE_TIMEOUT: expected a duration/);
  });

  it('refuses an unknown role on the command line', async () => {
    const child = spawnManager(['dispatcher'], processes.env);
    assert.equal(await exitCode(child), 2);
    assert.match(child.output(), /unknown role 'dispatcher'/);
  });
});
