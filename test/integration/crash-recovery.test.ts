import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TaskState } from '../../src/domain/task-state.ts';
import { request } from '../support/manager-harness.ts';
import { exitCode, managerProcesses } from '../support/manager-process.ts';
import { SimulatedProplet } from '../support/simulated-proplet.ts';
import { waitFor } from '../support/wait.ts';

const WASM = Buffer.from('0061736d01000000', 'hex').toString('base64');

/**
 * The all-in-one manager killed with SIGKILL, or stopped with SIGTERM, while tasks are scheduled and
 * running: after a restart nothing is lost, stuck or applied twice.
 */
describe('manager crash and restart', () => {
  const processes = managerProcesses();
  const api = (method: string, path: string, body?: unknown) =>
    request(processes.baseUrl, method, path, body);
  const taskOf = async (id: string) => (await api('GET', `/tasks/${id}`)).body as Record<string, any>;
  const healthy = () =>
    waitFor(
      async () => (await api('GET', '/health').catch(() => undefined))?.status === 200,
      'health',
      30_000,
    );
  const reaches = (id: string, state: number) =>
    waitFor(
      async () => {
        const task = await taskOf(id);
        return task.state === state && task;
      },
      `task ${id} in state ${state}`,
      30_000,
    );

  async function startTask(name: string): Promise<string> {
    const created = await api('POST', '/tasks', { name, file: WASM });
    assert.equal(created.status, 201);
    assert.equal((await api('POST', `/tasks/${created.body.id}/start`)).status, 200);
    return created.body.id as string;
  }

  it('keeps running tasks through a kill -9 and a SIGTERM, applies results sent meanwhile, and still dispatches what was scheduled', async () => {
    let manager = processes.spawn([]);
    await healthy();
    const proplet = new SimulatedProplet(
      { tenantId: processes.env.MANAGER_TENANT_ID!, channelId: processes.env.MANAGER_CHANNEL_ID! },
      (start) => (start.name.startsWith('answer') ? { results: `ran ${start.name}` } : 'keep-running'),
      undefined,
      500,
    );
    try {
      await proplet.start();
      await waitFor(async () => (await api('GET', `/proplets/${proplet.id}`)).body?.alive, 'alive', 30_000);

      const killedWhileRunning = await startTask('runs through a kill');
      await reaches(killedWhileRunning, TaskState.Running);
      manager.kill('SIGKILL');
      assert.equal(await exitCode(manager), null);
      // Published while no manager listens: the ingress's persistent session keeps it.
      await proplet.publishResult(killedWhileRunning, 'reported while the manager was dead');
      manager = processes.spawn([]);
      await healthy();
      const applied = await reaches(killedWhileRunning, TaskState.Completed);
      assert.equal(applied.results, 'reported while the manager was dead');

      const stoppedWhileRunning = await startTask('runs through a graceful stop');
      await reaches(stoppedWhileRunning, TaskState.Running);
      manager.kill('SIGTERM');
      assert.equal(await exitCode(manager), 0, manager.output());
      // A graceful stop leaves tasks to run on their proplets.
      assert.equal(
        proplet.stops.some((stop) => stop.id === stoppedWhileRunning),
        false,
      );
      await proplet.publishResult(stoppedWhileRunning, 'reported after a graceful stop');
      manager = processes.spawn([]);
      await healthy();
      assert.equal(
        (await reaches(stoppedWhileRunning, TaskState.Completed)).results,
        'reported after a graceful stop',
      );

      // Started, then the manager killed at once: the start is in the queue or in Postgres, never lost.
      const created = await api('POST', '/tasks', { name: 'answer after a kill', file: WASM });
      const startedThenKilled = created.body.id as string;
      assert.equal((await api('POST', `/tasks/${startedThenKilled}/start`)).status, 200);
      manager.kill('SIGKILL');
      await exitCode(manager);
      manager = processes.spawn([]);
      await healthy();
      const done = await reaches(startedThenKilled, TaskState.Completed);
      assert.equal(done.results, 'ran answer after a kill');
      const attempts = (await api('GET', `/tasks/${startedThenKilled}/attempts`)).body.attempts;
      assert.deepEqual(
        attempts.map((run: Record<string, unknown>) => run.outcome),
        ['completed'],
      );
      assert.equal(proplet.starts.filter((start) => start.id === startedThenKilled).length >= 1, true);
    } catch (error) {
      // What the manager said is what explains a failure here.
      throw new Error(`${(error as Error).message}\n${manager.output().split('\n').slice(-40).join('\n')}`, {
        cause: error,
      });
    } finally {
      await proplet.stop();
      manager.kill('SIGTERM');
      await exitCode(manager);
    }
  });
});
