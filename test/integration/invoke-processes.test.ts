import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TaskState } from '../../src/domain/task-state.ts';
import { request, untilPropletAlive } from '../support/manager-harness.ts';
import { SimulatedProplet } from '../support/simulated-proplet.ts';
import { waitFor } from '../support/wait.ts';
import { exitCode, managerProcesses } from '../support/manager-process.ts';

const WASM = Buffer.from('0061736d01000000', 'hex').toString('base64');
/** The api waits; the ingress receives the answer; the results role hands it over: three processes. */
const PROCESSES = [['api'], ['ingress'], ['scheduler', 'results', 'liveness']];

describe('invoke across processes', () => {
  const processes = managerProcesses();

  it('answers an invocation in the api process with what the ingress of another process received', async () => {
    for (const roles of PROCESSES) processes.spawn(roles);
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
    proplet.invokeBehaviour = (invoke) => ({ results: `sum of ${invoke.inputs.join(',')}` });
    try {
      await proplet.start();
      await untilPropletAlive(baseUrl, proplet.id, 30_000);
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

    for (const child of processes.children) child.kill('SIGTERM');
    for (const [i, child] of processes.children.entries())
      assert.equal(await exitCode(child), 0, `${PROCESSES[i]!.join(',')} exit\n${child.output()}`);
  });
});
