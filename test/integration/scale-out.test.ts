import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, it } from 'node:test';
import pg from 'pg';
import { loadConfig } from '../../src/config/config.ts';
import { migrateDatabase } from '../../src/db/migrate.ts';
import { TaskState } from '../../src/domain/task-state.ts';
import { startManager, type RunningManager } from '../../src/manager.ts';
import { createLogger } from '../../src/observability/logger.ts';
import {
  request,
  startTestManager,
  type TestManager,
  untilPropletAlive,
} from '../support/manager-harness.ts';
import { SimulatedProplet } from '../support/simulated-proplet.ts';
import { testEnvironment } from '../support/test-config.ts';
import { createTestDatabase } from '../support/test-database.ts';
import { waitFor } from '../support/wait.ts';

const WASM = Buffer.from('0061736d01000000', 'hex').toString('base64');

let harness: TestManager;
let extra: RunningManager | undefined;
let proplets: SimulatedProplet[];

const api = (method: string, path: string, body?: unknown) => request(harness.baseUrl, method, path, body);

/** A second manager process's worth of roles, sharing the first one's database, queues and channel. */
async function startSecondManager(roles: string): Promise<RunningManager> {
  const config = {
    ...harness.config,
    roles: loadConfig({ MANAGER_ROLES: roles }, '/nonexistent').roles,
    instanceId: `${harness.config.instanceId}-b`,
  };
  extra = await startManager(config, createLogger(config.logLevel));
  return extra;
}

async function runTasks(count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const id = (await api('POST', '/tasks', { name: `t${i}`, file: WASM })).body.id as string;
    assert.equal((await api('POST', `/tasks/${id}/start`)).status, 200);
    // One at a time, so the rotation order is observable.
    await waitFor(
      async () => (await api('GET', `/tasks/${id}`)).body.state === TaskState.Completed,
      `task ${i}`,
    );
  }
}

beforeEach(async () => {
  harness = await startTestManager();
  proplets = [];
  extra = undefined;
});

afterEach(async () => {
  await Promise.all(proplets.map((p) => p.stop()));
  await extra?.stop();
  await harness.close();
});

async function aliveProplets(count: number): Promise<SimulatedProplet[]> {
  for (let i = 0; i < count; i++) {
    const sim = new SimulatedProplet(harness.config.mqtt);
    proplets.push(sim);
    await sim.start();
  }
  await waitFor(
    async () => (await api('GET', '/proplets?status=active')).body.total === count,
    'proplets alive',
  );
  return proplets;
}

describe('several manager processes', () => {
  it('two schedulers share one round-robin rotation', async () => {
    await startSecondManager('scheduler');
    const sims = await aliveProplets(3);
    await runTasks(9);
    assert.deepEqual(
      sims.map((sim) => sim.starts.length),
      [3, 3, 3],
    );
  });

  it('with two ingress instances on the shared subscription, every result is applied', async () => {
    await startSecondManager('ingress');
    const sims = await aliveProplets(2);
    await runTasks(6);
    assert.equal(sims[0]!.starts.length + sims[1]!.starts.length, 6);
  });
});

describe('ingress sessions', () => {
  it('each ingress process holds MANAGER_INGRESS_SESSIONS sessions, and results sent at once through them all are applied', async () => {
    const slots = harness.manager.resources.ingressSlots(1);
    const numerically = async () => (await slots.used()).sort((a, b) => a - b);
    // Four on MQTT 5; one on MQTT 3.1.1 (the bare machine's aedes), which has no shared subscriptions.
    const perProcess = harness.config.mqtt.protocolVersion === 5 ? 4 : 1;
    const upTo = (count: number) => Array.from({ length: count }, (_, slot) => slot);
    assert.equal(harness.config.ingressSessions, perProcess);
    assert.deepEqual(await numerically(), upTo(perProcess));
    await startSecondManager('ingress');
    assert.deepEqual(await numerically(), upTo(2 * perProcess));

    const sim = new SimulatedProplet(harness.config.mqtt, () => 'keep-running');
    proplets.push(sim);
    await sim.start();
    await untilPropletAlive(harness.baseUrl, sim.id);
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const id = (await api('POST', '/tasks', { name: `burst-${i}`, file: WASM })).body.id as string;
      await api('POST', `/tasks/${id}/start`);
      ids.push(id);
    }
    await waitFor(() => sim.starts.length === ids.length, 'every start received');
    // The broker spreads the burst over the sessions of the shared subscription (on 3.1.1 each instance gets
    // every result, and the second copy finds its task finished).
    await Promise.all(ids.map((id) => sim.publishResult(id, `done ${id}`)));
    for (const id of ids) {
      const done = await waitFor(async () => {
        const task = (await api('GET', `/tasks/${id}`)).body;
        return task.state === TaskState.Completed ? task : undefined;
      }, `result of ${id} applied`);
      assert.equal(done.results, `done ${id}`);
    }
  });
});

describe('an ingress instance that is gone for good', () => {
  it('leaves no message stranded: a running instance adopts its session and applies what it held', async () => {
    const second = await startSecondManager('ingress');
    const sim = new SimulatedProplet(harness.config.mqtt, () => 'keep-running');
    proplets.push(sim);
    await sim.start();
    await untilPropletAlive(harness.baseUrl, sim.id);
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const id = (await api('POST', '/tasks', { name: `t${i}`, file: WASM })).body.id as string;
      await api('POST', `/tasks/${id}/start`);
      ids.push(id);
    }
    for (const id of ids) {
      await waitFor(
        async () => (await api('GET', `/tasks/${id}`)).body.state === TaskState.Running,
        'running',
      );
    }

    // Scaled down: its session stays in the broker, which keeps routing a share of the messages to it.
    await second.stopRole('ingress');
    for (const id of ids) await sim.publishResult(id, `done ${id}`);

    for (const id of ids) {
      const done = await waitFor(
        async () => {
          const task = (await api('GET', `/tasks/${id}`)).body;
          return task.state === TaskState.Completed ? task : undefined;
        },
        `result of ${id} applied`,
        // The departed session is adopted once its 15 s lease lapses; a loaded machine adds to that.
        40_000,
      );
      assert.equal(done.results, `done ${id}`);
    }
  });
});

describe('migrations', () => {
  it('are applied once when several processes start at the same moment', async () => {
    const database = await createTestDatabase();
    try {
      const config = loadConfig(testEnvironment(database), '/nonexistent');
      const logger = createLogger('fatal');
      await Promise.all(Array.from({ length: 4 }, () => migrateDatabase(config.postgres, logger)));
      const other = new pg.Pool({ ...database.connection, database: database.name });
      try {
        const { rows } = await other.query<{ n: string }>(
          'SELECT count(*) AS n FROM drizzle.__drizzle_migrations',
        );
        const journal = JSON.parse(
          readFileSync(new URL('../../drizzle/meta/_journal.json', import.meta.url), 'utf8'),
        ) as { entries: unknown[] };
        assert.equal(Number(rows[0]!.n), journal.entries.length);
        const tables = await other.query<{ name: string }>(
          "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
        );
        assert.deepEqual(
          tables.rows.map((row) => row.name),
          [
            'coordination_cursors',
            'ingress_slots',
            'invocation_results',
            'jobs',
            'proplet_liveness',
            'proplet_metrics',
            'proplets',
            'stopped_runs',
            'task_attempts',
            'task_event_watchers',
            'task_events',
            'task_metrics',
            'task_proplets',
            'task_totals',
            'tasks',
          ],
        );
      } finally {
        await other.end();
      }
    } finally {
      await database.drop();
    }
  });
});
