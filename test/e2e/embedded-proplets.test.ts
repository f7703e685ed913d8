import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { TaskState } from '../../src/domain/task-state.ts';
import { request, startTestManager, type TestManager } from '../support/manager-harness.ts';
import { waitFor } from '../support/wait.ts';

let harness: TestManager;
const api = (method: string, path: string, body?: unknown) => request(harness.baseUrl, method, path, body);

before(async () => {
  harness = await startTestManager({ MANAGER_EMBEDDED_PROPLETS: '2' });
});

after(async () => {
  await harness.close();
});

describe('proplets embedded in the manager process', () => {
  it('come alive with the manager and run real Wasm, one task each in turn', async () => {
    await waitFor(
      async () => (await api('GET', '/proplets?status=active')).body.total === 2,
      'two embedded proplets',
    );
    const file = readFileSync(new URL('../../examples/add.wasm', import.meta.url)).toString('base64');
    const holders = new Set<string>();
    for (const inputs of [
      [2, 3],
      [20, 22],
    ]) {
      const id = (await api('POST', '/tasks', { name: 'add', file, inputs })).body.id as string;
      await api('POST', `/tasks/${id}/start`);
      const done = await waitFor(async () => {
        const task = (await api('GET', `/tasks/${id}`)).body;
        return task.state === TaskState.Completed ? task : undefined;
      }, 'add completed');
      assert.equal(done.results, String(inputs[0]! + inputs[1]!));
      holders.add(done.proplet_id as string);
    }
    assert.equal(holders.size, 2);
  });
});
