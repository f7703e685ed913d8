import assert from 'node:assert/strict';
import { TaskState } from '../../src/domain/task-state.ts';
import { request, startTestManager } from './manager-harness.ts';
import { SimulatedProplet } from './simulated-proplet.ts';
import type { TestDatabase } from './test-database.ts';
import { waitFor } from './wait.ts';

/** The smallest valid module: the simulated proplet runs nothing, but the manager checks the magic number. */
const WASM = Buffer.from('0061736d01000000', 'hex').toString('base64');

/** One API request, however it travels (fetch, HTTPS with a CA of its own, …). */
export type ApiCall = (
  method: string,
  path: string,
  body?: unknown,
) => Promise<{ status: number; body: any }>;

/**
 * The whole path of one task, as a user and a proplet see it: once the proplet is alive, a task for it is
 * created and started through the API, reaches it, and ends Completed with its result. Returns the
 * finished task.
 */
export async function runTaskRoundTrip(call: ApiCall, proplet: SimulatedProplet, name: string): Promise<any> {
  await waitFor(
    async () => (await call('GET', `/proplets/${proplet.id}`)).body?.alive === true,
    `proplet ${proplet.id} alive`,
    30_000,
  );
  // Pinned, as other proplets may be alive too (embedded ones, say).
  const created = await call('POST', '/tasks', { name, file: WASM, proplet_id: proplet.id });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.id as string;
  assert.equal((await call('POST', `/tasks/${id}/start`)).status, 200);
  await proplet.waitForStart(id, 30_000);
  const done = await waitFor(
    async () => {
      const task = (await call('GET', `/tasks/${id}`)).body;
      return task.state === TaskState.Completed ? task : undefined;
    },
    `task ${name} completed`,
    30_000,
  );
  assert.equal(done.results, `ran ${name}`);
  return done;
}

/**
 * A round trip through a whole manager of this environment (startTestManager's, with `database` if given),
 * its proplet a simulated one on the shared test broker; the manager is closed after.
 */
export async function runTaskOnTestManager(
  env: Record<string, string>,
  name: string,
  options: { database?: TestDatabase } = {},
): Promise<void> {
  const started = await startTestManager(env, options);
  const proplet = new SimulatedProplet({
    tenantId: started.config.mqtt.tenantId,
    channelId: started.config.mqtt.channelId,
  });
  try {
    await proplet.start();
    await runTaskRoundTrip(
      (method, path, body) => request(started.baseUrl, method, path, body),
      proplet,
      name,
    );
  } finally {
    await proplet.stop();
    await started.close();
  }
}
