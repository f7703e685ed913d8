import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/config.ts';
import { nextRun } from '../../src/domain/cron-schedule.ts';
import { TaskState } from '../../src/domain/task-state.ts';
import { ZERO_TIME } from '../../src/http/schemas/task-view.ts';
import { startManager, type RunningManager } from '../../src/manager.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { CronRegistry } from '../../src/services/cron-registry.ts';
import { request, startTestManager, type TestManager } from '../support/manager-harness.ts';
import { SimulatedProplet, type StartBehaviour } from '../support/simulated-proplet.ts';
import { TEST_REDIS_URL } from '../support/test-database.ts';
import { waitFor } from '../support/wait.ts';

const WASM = Buffer.from('0061736d01000000', 'hex').toString('base64');
/** Far enough away never to fire during a test: ticks come from registerEvery. */
const YEARLY = '0 0 1 1 *';

const STORES = TEST_REDIS_URL === undefined ? ['postgres'] : ['redis', 'postgres'];

for (const store of STORES) {
  describe(`cron schedules and priorities (queues in ${store})`, () => {
    let harness: TestManager;
    let extra: RunningManager | undefined;
    let proplets: SimulatedProplet[];
    let cron: CronRegistry;

    const api = (method: string, path: string, body?: unknown) =>
      request(harness.baseUrl, method, path, body);
    const queue = (name: 'task-cron' | 'task-start') => harness.manager.resources.queues.queue(name);

    async function proplet(behaviour?: StartBehaviour): Promise<SimulatedProplet> {
      const simulated = new SimulatedProplet(harness.config.mqtt, behaviour);
      proplets.push(simulated);
      await simulated.start();
      await waitFor(
        async () => (await api('GET', `/proplets/${simulated.id}`)).body?.alive === true,
        `${simulated.id} alive`,
      );
      return simulated;
    }

    async function createTask(body: Record<string, unknown>): Promise<Record<string, any>> {
      const created = await api('POST', '/tasks', { name: 'add', file: WASM, ...body });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      return created.body as Record<string, any>;
    }

    const getTask = async (id: string) => (await api('GET', `/tasks/${id}`)).body as Record<string, any>;

    beforeEach(async () => {
      harness = await startTestManager({
        MANAGER_QUEUE_STORE: store,
        // One start at a time, so the order in which a proplet receives starts is the queue's order.
        MANAGER_SCHEDULER_CONCURRENCY: '1',
      });
      proplets = [];
      extra = undefined;
      const { resources } = harness.manager;
      cron = new CronRegistry(resources.tasks, resources.queues, createLogger('fatal'));
    });

    afterEach(async () => {
      await Promise.all(proplets.map((p) => p.stop()));
      await extra?.stop();
      await harness.close();
    });

    it('runs a recurring task on every tick, keeping its schedule and moving next_run on', async () => {
      const sim = await proplet();
      const created = await createTask({ schedule: YEARLY, is_recurring: true, timezone: 'Europe/Paris' });
      const expectedNext = nextRun(YEARLY, 'Europe/Paris', new Date()).toISOString();
      assert.equal(created.schedule, YEARLY);
      assert.equal(created.next_run, expectedNext);
      assert.deepEqual(await cron.find(created.id), { pattern: YEARLY, tz: 'Europe/Paris' });

      await cron.registerEvery(created.id, 500);
      await waitFor(async () => {
        const task = await getTask(created.id);
        return task.attempt >= 2 && task.state === TaskState.Completed && task;
      }, 'two scheduled runs');
      assert.ok(sim.starts.filter((start) => start.id === created.id).length >= 2);
      const task = await getTask(created.id);
      assert.equal(task.schedule, YEARLY);
      assert.equal(task.is_recurring, true);
      assert.equal(task.next_run, expectedNext);
      assert.equal(task.error, undefined);
    });

    it('runs a one-shot once, then clears its schedule and removes its job scheduler', async () => {
      const sim = await proplet();
      const created = await createTask({ schedule: YEARLY });
      assert.notEqual(created.next_run, ZERO_TIME);
      await cron.registerEvery(created.id, 300);

      const done = await waitFor(async () => {
        const task = await getTask(created.id);
        return task.state === TaskState.Completed && task.schedule === undefined && task;
      }, 'the one-shot run and its schedule cleared');
      assert.equal(done.next_run, ZERO_TIME);
      assert.equal(done.attempt, 1);
      assert.equal(await cron.find(created.id), undefined);
      await sleep(1_000);
      assert.equal((await getTask(created.id)).attempt, 1, 'no second run');
      assert.equal(sim.starts.filter((start) => start.id === created.id).length, 1);
    });

    it('refuses an invalid schedule or time zone with 400 naming the field, creating nothing', async () => {
      for (const [body, field] of [
        [{ schedule: '0 0 * * * *' }, /schedule: invalid cron expression: expected 5 fields/],
        [{ schedule: '@daily' }, /schedule: invalid cron expression: descriptors/],
        [{ schedule: '61 * * * *' }, /schedule: invalid cron expression/],
        [{ schedule: '* * * * *', timezone: 'Mars/Olympus_Mons' }, /timezone: unknown time zone/],
      ] as const) {
        const response = await api('POST', '/tasks', { name: 'bad', file: WASM, ...body });
        assert.equal(response.status, 400, JSON.stringify(body));
        assert.match(response.body.error, field);
      }
      assert.equal((await api('GET', '/tasks')).body.total, 0);
      assert.deepEqual(await harness.manager.resources.queues.schedulers('task-cron'), []);
    });

    it('re-registers on PUT, leaves the schedule alone when it is omitted or empty, clears it on null', async () => {
      const { id } = await createTask({ schedule: YEARLY, is_recurring: true });
      assert.deepEqual(await cron.find(id), { pattern: YEARLY, tz: 'UTC' });

      const changed = await api('PUT', `/tasks/${id}`, { schedule: '30 6 * * *', timezone: 'Asia/Tokyo' });
      assert.equal(changed.status, 200);
      assert.equal(changed.body.schedule, '30 6 * * *');
      assert.equal(changed.body.timezone, 'Asia/Tokyo');
      assert.equal(changed.body.is_recurring, true);
      assert.equal(changed.body.next_run, nextRun('30 6 * * *', 'Asia/Tokyo', new Date()).toISOString());
      assert.deepEqual(await cron.find(id), { pattern: '30 6 * * *', tz: 'Asia/Tokyo' });

      // An upstream client sending the whole task with empty strings, and a partial update.
      const whole = await api('PUT', `/tasks/${id}`, { name: 'renamed', schedule: '', timezone: '' });
      assert.equal(whole.body.name, 'renamed');
      assert.equal(whole.body.schedule, '30 6 * * *');
      assert.equal((await api('PUT', `/tasks/${id}`, { inputs: [1, 2] })).body.schedule, '30 6 * * *');

      for (const body of [{ schedule: '1 2 3' }, { timezone: 'Nowhere/Land' }]) {
        const refused = await api('PUT', `/tasks/${id}`, body);
        assert.equal(refused.status, 400);
        assert.match(refused.body.error, /schedule|timezone/);
      }
      assert.deepEqual(await cron.find(id), { pattern: '30 6 * * *', tz: 'Asia/Tokyo' });

      const cleared = await api('PUT', `/tasks/${id}`, { schedule: null });
      assert.equal(cleared.status, 200);
      assert.equal(cleared.body.schedule, undefined);
      assert.equal(cleared.body.next_run, ZERO_TIME);
      assert.equal(await cron.find(id), undefined);
    });

    it('removes the job scheduler when the task is deleted', async () => {
      const { id } = await createTask({ schedule: '*/10 * * * *', is_recurring: true });
      assert.ok(await cron.find(id));
      assert.equal((await api('DELETE', `/tasks/${id}`)).status, 204);
      assert.equal(await cron.find(id), undefined);
    });

    it('records a refused start on the task and keeps ticking', async () => {
      const { id } = await createTask({ file: '', schedule: YEARLY, is_recurring: true });
      await cron.registerEvery(id, 300);
      const refused = await waitFor(async () => {
        const task = await getTask(id);
        return task.error && task;
      }, 'the refusal recorded');
      assert.match(refused.error, /^scheduled start refused: .*neither file nor image_url/);
      assert.equal(refused.state, TaskState.Pending);
      assert.equal(refused.schedule, YEARLY);
      assert.equal((await queue('task-cron').getFailedCount()) === 0, true, 'refusals are not failures');
    });

    it('keeps the schedule of a one-shot whose start was refused, and runs it at a later tick', async () => {
      await proplet();
      const { id } = await createTask({ file: '', schedule: YEARLY });
      await cron.registerEvery(id, 300);
      await waitFor(async () => (await getTask(id)).error, 'the refusal recorded');
      const refused = await getTask(id);
      assert.equal(refused.schedule, YEARLY);
      assert.ok(await cron.find(id), 'its job scheduler stays');

      assert.equal((await api('PUT', `/tasks/${id}`, { file: WASM })).status, 200);
      await waitFor(async () => (await getTask(id)).state === TaskState.Completed, 'the one-shot run');
      await waitFor(async () => (await getTask(id)).schedule === undefined, 'its schedule cleared');
      assert.equal(await cron.find(id), undefined);
    });

    it('skips a tick while the previous run is still running', async () => {
      const sim = await proplet(() => 'keep-running');
      const { id } = await createTask({ schedule: YEARLY, is_recurring: true });
      await cron.registerEvery(id, 300);
      await waitFor(async () => (await getTask(id)).state === TaskState.Running, 'the first run');
      const ticksBefore = await completedTicks();
      await waitFor(async () => (await completedTicks()) >= ticksBefore + 3, 'three more ticks');
      const task = await getTask(id);
      assert.equal(task.state, TaskState.Running);
      assert.equal(task.attempt, 1, 'never two runs at once');
      assert.equal(sim.starts.length, 1);
    });

    it('fires each tick once with two scheduler processes', async () => {
      const config = {
        ...harness.config,
        roles: loadConfig({ MANAGER_ROLES: 'scheduler' }, '/nonexistent').roles,
        instanceId: `${harness.config.instanceId}-b`,
      };
      // Started first: its reconciliation would otherwise put the pattern back in place of the test interval.
      extra = await startManager(config, createLogger(config.logLevel));
      await proplet();
      const { id } = await createTask({ schedule: YEARLY, is_recurring: true });
      const everyMs = 400;
      const since = Date.now();
      await cron.registerEvery(id, everyMs);
      await waitFor(async () => (await getTask(id)).attempt >= 4, 'four runs', 15_000);

      const ticks = (
        await queue('task-cron').getJobs(['completed', 'active', 'delayed', 'waiting', 'failed'])
      ).filter((job) => job.name === 'tick');
      const elapsed = Date.now() - since;
      const times = ticks.map((job) => {
        const match = /^repeat:cron-([0-9a-f-]+):(\d+)$/.exec(job.id ?? '');
        assert.ok(match, `tick id ${job.id}`);
        assert.equal(match[1], id, 'one job scheduler for the task');
        return Number(match[2]);
      });
      assert.equal(new Set(times).size, times.length, 'no tick time twice');
      // Ticks come every 400 ms however many processes run; two registrations would double them.
      assert.ok(ticks.length <= Math.floor(elapsed / everyMs) + 2, `${ticks.length} ticks in ${elapsed} ms`);
      const sorted = [...times].sort((a, b) => a - b);
      for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i]! - sorted[i - 1]! >= everyMs);
    });

    it('reconciles job schedulers with Postgres when the scheduler role starts', async () => {
      const { id } = await createTask({ schedule: '15 3 * * *', is_recurring: true });
      const stray = randomUUID();
      await cron.register({ id: stray, schedule: '* * * * *', timezone: null });
      await harness.manager.resources.queues.removeScheduler('task-cron', `cron-${id}`);
      await harness.manager.resources.postgres.pool.query(
        `UPDATE tasks SET next_run = now() - interval '1 day' WHERE id = $1`,
        [id],
      );
      assert.equal(await cron.find(id), undefined);

      await harness.manager.stopRole('scheduler');
      await harness.manager.startRole('scheduler');
      await waitFor(async () => (await cron.find(id))?.pattern === '15 3 * * *', 'the scheduler re-created');
      await waitFor(async () => (await cron.find(stray)) === undefined, 'the stray scheduler removed');
      const task = await getTask(id);
      assert.equal(task.next_run, nextRun('15 3 * * *', null, new Date()).toISOString());
    });

    it('dispatches waiting starts by priority once a proplet comes alive', async () => {
      const low: string[] = [];
      const high: string[] = [];
      for (const [priority, ids] of [
        [10, low],
        [90, high],
      ] as const) {
        for (let i = 0; i < 3; i++) {
          const { id } = await createTask({ name: `p${priority}-${i}`, priority });
          assert.equal((await api('POST', `/tasks/${id}/start`)).status, 200);
          ids.push(id);
        }
      }
      const starts = queue('task-start');
      // Each start has found no proplet and waits as a delayed job.
      await waitFor(async () => (await starts.getDelayedCount()) === 6, 'six starts waiting');
      // Held while the proplet comes alive, so none is dispatched by a retry timer before all are promoted.
      await starts.pause();
      const sim = await proplet();
      await waitFor(async () => (await starts.getDelayedCount()) === 0, 'starts woken by the proplet');
      const counts = await starts.getJobCounts('prioritized', 'wait');
      assert.deepEqual(counts, { prioritized: 6, wait: 0 }, 'woken starts keep their priorities');
      await starts.resume();

      await waitFor(() => sim.starts.length === 6, 'every start dispatched');
      const order = sim.starts.map((start) => start.id);
      assert.deepEqual(new Set(order.slice(0, 3)), new Set(high), `order ${order.join(', ')}`);
      assert.deepEqual(new Set(order.slice(3)), new Set(low));
    });

    async function completedTicks(): Promise<number> {
      return queue('task-cron').getCompletedCount();
    }
  });
}
