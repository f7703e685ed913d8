import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TaskState } from '../../src/domain/task-state.ts';
import { NOT_PRECOMPILED } from '../../src/services/invocation-service.ts';
import { request, startTestManager, type TestManager } from '../support/manager-harness.ts';
import { SimulatedProplet, type InvokeBehaviour } from '../support/simulated-proplet.ts';
import { TEST_REDIS_URL } from '../support/test-database.ts';
import { waitFor } from '../support/wait.ts';

const WASM = Buffer.from('0061736d01000000', 'hex').toString('base64');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Short, so the timeout case is quick; long enough for a round trip through queues in Postgres. */
const INVOKE_TIMEOUT = '3s';

/** The mailbox lives in the queue store: both are exercised where there is a Redis. */
const STORES = TEST_REDIS_URL === undefined ? ['postgres'] : ['redis', 'postgres'];

for (const store of STORES) {
  describe(`invoke (queues and mailbox in ${store})`, () => {
    let harness: TestManager;
    let sims: SimulatedProplet[];
    const api = (method: string, path: string, body?: unknown) =>
      request(harness.baseUrl, method, path, body);
    const simById = (id: string) => sims.find((sim) => sim.id === id)!;
    /** Each test scripts the proplets afresh. */
    const answerWith = (behaviour: InvokeBehaviour) =>
      sims.forEach((sim) => (sim.invokeBehaviour = behaviour));
    const deployedAnswer: InvokeBehaviour = (invoke) => ({ results: `ran ${invoke.inputs.join('+')}` });

    async function deploy(body: Record<string, unknown> = {}): Promise<Record<string, any>> {
      const created = await api('POST', '/tasks', {
        name: 'add',
        file: WASM,
        latent: true,
        inputs: [2, 3],
        ...body,
      });
      assert.equal(created.status, 201);
      const id = created.body.id as string;
      assert.equal((await api('POST', `/tasks/${id}/start`)).status, 200);
      return waitFor(async () => {
        const task = (await api('GET', `/tasks/${id}`)).body;
        return task.state === TaskState.Running ? task : undefined;
      }, `task ${id} deployed`);
    }

    before(async () => {
      harness = await startTestManager({
        MANAGER_INVOKE_TIMEOUT: INVOKE_TIMEOUT,
        // Both proplets must be candidates of every broadcast invocation, even when beats come late.
        MANAGER_PROPLET_ALIVE_TIMEOUT: '10s',
        ...(store === 'postgres' ? { MANAGER_QUEUE_STORE: 'postgres' } : {}),
      });
      sims = [new SimulatedProplet(harness.config.mqtt), new SimulatedProplet(harness.config.mqtt)];
      for (const sim of sims) {
        await sim.start();
        await waitFor(async () => (await api('GET', `/proplets/${sim.id}`)).body?.alive === true, 'alive');
      }
    });

    after(async () => {
      await Promise.all(sims.map((sim) => sim.stop()));
      await harness.close();
    });

    it('deploys a latent task on start: the proplet gets latent:true, no result comes, the task stays Running', async () => {
      const task = await deploy();
      const sim = simById(task.proplet_id);
      const start = await sim.waitForStart(task.id);
      assert.equal(start.latent, true);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal((await api('GET', `/tasks/${task.id}`)).body.state, TaskState.Running);
      assert.deepEqual((await api('GET', `/tasks/${task.id}/results`)).body, { results: null });
    });

    it('invokes the deployed task on its proplet and answers with the results', async () => {
      answerWith(deployedAnswer);
      const task = await deploy();
      const sim = simById(task.proplet_id);
      const answer = await api('POST', `/tasks/${task.id}/invoke`, {
        inputs: [7, '8'],
        env: { MODE: 'fast' },
      });
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.body, { invoked: true, results: 'ran 7+8' });
      const invoke = sim.invokes.find((message) => message.id === task.id)!;
      assert.equal(invoke.broadcast, false);
      assert.equal(invoke.proplet_id, sim.id);
      assert.match(invoke.invocation_id, UUID);
      assert.deepEqual(invoke.inputs, ['7', '8']);
      assert.deepEqual(invoke.env, { MODE: 'fast' });
      // Invocations are not written to the task.
      assert.deepEqual((await api('GET', `/tasks/${task.id}/results`)).body, { results: null });
    });

    it('takes the task inputs when the request has no body', async () => {
      answerWith(deployedAnswer);
      const task = await deploy({ inputs: [4, 5] });
      const response = await fetch(`${harness.baseUrl}/tasks/${task.id}/invoke`, { method: 'POST' });
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { invoked: true, results: 'ran 4+5' });
    });

    it('refuses bad bodies, naming the field, and sends nothing', async () => {
      const task = await deploy();
      const sim = simById(task.proplet_id);
      const bad = await api('POST', `/tasks/${task.id}/invoke`, { inputs: [true] });
      assert.equal(bad.status, 400);
      assert.match(bad.body.error, /inputs/);
      const badEnv = await api('POST', `/tasks/${task.id}/invoke`, { env: { N: 1 } });
      assert.equal(badEnv.status, 400);
      assert.match(badEnv.body.error, /env/);
      const notJson = await request(harness.baseUrl, 'POST', `/tasks/${task.id}/invoke`, 'inputs=1', {
        'content-type': 'text/plain',
      });
      assert.equal(notJson.status, 400);
      assert.equal(sim.invokes.filter((invoke) => invoke.id === task.id).length, 0);
    });

    it("answers 502 with the proplet's error", async () => {
      answerWith(() => ({ error: 'wasm trap: unreachable' }));
      const task = await deploy();
      const answer = await api('POST', `/tasks/${task.id}/invoke`, { inputs: [1] });
      assert.equal(answer.status, 502);
      assert.deepEqual(answer.body, { error: 'wasm trap: unreachable' });
    });

    it('answers 504 when the proplet does not answer within MANAGER_INVOKE_TIMEOUT', async () => {
      answerWith(() => 'no-answer');
      const task = await deploy();
      const answer = await api('POST', `/tasks/${task.id}/invoke`);
      assert.equal(answer.status, 504);
      assert.deepEqual(answer.body, { error: `invocation of task ${task.id} timed out after 3s` });
    });

    it('refuses a task that is not latent (400), not deployed (409) or unknown (404)', async () => {
      const plain = (await api('POST', '/tasks', { name: 'add', file: WASM })).body;
      const notLatent = await api('POST', `/tasks/${plain.id}/invoke`, {});
      assert.equal(notLatent.status, 400);
      assert.match(notLatent.body.error, /not a latent task/);

      const latent = (await api('POST', '/tasks', { name: 'add', file: WASM, latent: true })).body;
      const pending = await api('POST', `/tasks/${latent.id}/invoke`, {});
      assert.equal(pending.status, 409);
      assert.match(pending.body.error, /not deployed/);

      assert.equal((await api('POST', '/tasks/7c1a3f8e-0000-4000-8000-000000000000/invoke', {})).status, 404);
      assert.equal((await api('GET', `/tasks/${latent.id}/invoke`)).status, 405);
    });

    it('moves on to the next live proplet of a broadcast task when one lacks the module', async () => {
      const task = await deploy({ broadcast: true });
      await Promise.all(sims.map((sim) => sim.waitForStart(task.id)));
      const [lacking, having] = sims as [SimulatedProplet, SimulatedProplet];
      lacking.invokeBehaviour = (invoke) => ({
        error: `task ${invoke.id} ${NOT_PRECOMPILED} on proplet ${lacking.id}`,
      });
      having.invokeBehaviour = () => ({ results: 'from the one that has it' });
      // Whichever the round-robin picks first, the answer comes from the proplet that has the module.
      for (let round = 0; round < 2; round++) {
        const answer = await api('POST', `/tasks/${task.id}/invoke`, { inputs: [1] });
        assert.equal(answer.status, 200);
        assert.equal(answer.body.results, 'from the one that has it');
      }
      assert.equal(having.invokes.filter((invoke) => invoke.id === task.id).length, 2);
      assert.equal(lacking.invokes.filter((invoke) => invoke.id === task.id).length, 1, 'tried first once');
    });

    it('deploys a broadcast task again where every live proplet lacks the module, and answers 503', async () => {
      const task = await deploy({ broadcast: true });
      await Promise.all(sims.map((sim) => sim.waitForStart(task.id)));
      answerWith((invoke) => ({ error: `task ${invoke.id} ${NOT_PRECOMPILED}` }));
      const answer = await api('POST', `/tasks/${task.id}/invoke`);
      assert.equal(answer.status, 503);
      assert.match(answer.body.error, new RegExp(`${NOT_PRECOMPILED}.*retry`));
      for (const sim of sims) {
        assert.equal(sim.invokes.filter((invoke) => invoke.id === task.id).length, 1);
        const redeploy = await waitFor(
          () => sim.starts.find((start) => start.id === task.id && start.proplet_id === sim.id),
          `re-deploy on ${sim.id}`,
        );
        assert.equal(redeploy.broadcast, false);
        assert.equal(redeploy.latent, true);
        assert.equal(redeploy.daemon, false);
        assert.ok(redeploy.file, 'the module travels again');
      }
      // Deployed again, it answers.
      answerWith(deployedAnswer);
      const retried = await api('POST', `/tasks/${task.id}/invoke`, { inputs: ['x'] });
      assert.deepEqual(retried.body, { invoked: true, results: 'ran x' });
    });

    it('stops waiting when the client goes away, and keeps serving', async () => {
      answerWith(() => 'no-answer');
      const task = await deploy();
      const sim = simById(task.proplet_id);
      const client = new AbortController();
      const pending = fetch(`${harness.baseUrl}/tasks/${task.id}/invoke`, {
        method: 'POST',
        signal: client.signal,
      });
      await waitFor(() => sim.invokes.some((invoke) => invoke.id === task.id), 'invocation sent');
      client.abort();
      await assert.rejects(pending);
      answerWith(deployedAnswer);
      const next = await api('POST', `/tasks/${task.id}/invoke`, { inputs: [1] });
      assert.equal(next.status, 200);
    });
  });
}
