import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  request,
  startTestManager,
  type TestManager,
  untilPropletAlive,
} from '../support/manager-harness.ts';
import { SimulatedProplet } from '../support/simulated-proplet.ts';

let harness: TestManager;
let sim: SimulatedProplet;

const api = (method: string, path: string) => request(harness.baseUrl, method, path);

before(async () => {
  harness = await startTestManager();
  sim = await new SimulatedProplet(harness.config.mqtt).start();
  await untilPropletAlive(harness.baseUrl, sim.id);
});

after(async () => {
  await sim.stop();
  await harness.close();
});

describe('GET /proplets/{id}/sdf', () => {
  it('describes a registered proplet: its properties, actions, events and payloads', async () => {
    const view = (await api('GET', `/proplets/${sim.id}`)).body;
    const sdf = await api('GET', `/proplets/${sim.id}/sdf`);
    assert.equal(sdf.status, 200);
    assert.match(sdf.headers.get('content-type') ?? '', /application\/json/);
    assert.deepEqual(sdf.body.info, {
      title: `Propeller Proplet: ${view.name} (${sim.id})`,
      version: '1.0',
      license: 'Apache-2.0',
    });
    const thing = sdf.body.sdfThing.Proplet;
    assert.deepEqual(Object.keys(thing.sdfProperty), ['id', 'name', 'alive', 'task_count', 'metadata']);
    assert.deepEqual(Object.keys(thing.sdfAction), ['start_task', 'stop_task']);
    assert.deepEqual(Object.keys(thing.sdfEvent), ['heartbeat', 'task_result']);
    assert.deepEqual(Object.keys(thing.sdfData), [
      'PropletMetadata',
      'TaskDispatch',
      'TaskStop',
      'HeartbeatPayload',
      'TaskResult',
    ]);
    // Every reference resolves within the document.
    const refs = JSON.stringify(sdf.body).match(/"sdfRef":"[^"]+"/g) ?? [];
    assert.ok(refs.length >= 5);
    for (const ref of refs) {
      const path = ref.slice('"sdfRef":"#/'.length, -1).split('/');
      const target = path.reduce<any>((node, key) => node?.[key], sdf.body);
      assert.ok(target?.type, `${ref} resolves`);
    }
    assert.deepEqual(thing.sdfData.TaskDispatch.required, ['id', 'name']);
    assert.deepEqual(thing.sdfData.TaskResult.required, ['task_id']);
    assert.equal(thing.sdfAction.start_task.sdfInputData.sdfRef, '#/sdfThing/Proplet/sdfData/TaskDispatch');
  });

  it('answers 404 for an unknown proplet and 400 for an id that is not a UUID', async () => {
    assert.equal((await api('GET', `/proplets/${randomUUID()}/sdf`)).status, 404);
    const bad = await api('GET', '/proplets/not-a-uuid/sdf');
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /proplet id/);
    assert.equal((await api('POST', `/proplets/${sim.id}/sdf`)).status, 405);
  });
});
