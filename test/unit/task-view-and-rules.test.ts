import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redactFile } from '../../src/domain/file-redaction.ts';
import { TaskState } from '../../src/domain/task-state.ts';
import { toTaskJson, ZERO_TIME } from '../../src/http/schemas/task-view.ts';
import { nextRetryDelay } from '../../src/services/dispatch-service.ts';
import { startProblem } from '../../src/services/task-service.ts';
import { sweepIntervalMs } from '../../workers/liveness.ts';
import { makeTask } from './task-fixture.ts';

/** The task as a client receives it, after JSON encoding drops undefined keys. */
const onWire = (json: Record<string, unknown>): Record<string, unknown> => JSON.parse(JSON.stringify(json));

describe('toTaskJson', () => {
  it('emits a fresh task as upstream does', () => {
    const task = makeTask();
    assert.deepEqual(onWire(toTaskJson(task)), {
      id: task.id,
      name: 'add',
      kind: 'standard',
      state: 0,
      cli_args: null,
      daemon: false,
      encrypted: false,
      start_time: ZERO_TIME,
      finish_time: ZERO_TIME,
      created_at: '2026-01-02T03:04:05.678Z',
      updated_at: '2026-01-02T03:04:05.678Z',
      next_run: ZERO_TIME,
      priority: 50,
      attempt: 0,
      retries: 0,
    });
  });

  it('uses the Go zero time for unset times', () => {
    assert.equal(ZERO_TIME, '0001-01-01T00:00:00Z');
    const json = toTaskJson(makeTask());
    assert.equal(json.start_time, ZERO_TIME);
    assert.equal(json.finish_time, ZERO_TIME);
    assert.equal(json.next_run, ZERO_TIME);
  });

  it('emits set times in RFC 3339', () => {
    const json = toTaskJson(
      makeTask({
        startTime: new Date('2026-03-04T05:06:07.000Z'),
        finishTime: new Date('2026-03-04T05:06:08.500Z'),
        nextRun: new Date('2026-03-05T00:00:00.000Z'),
      }),
    );
    assert.equal(json.start_time, '2026-03-04T05:06:07.000Z');
    assert.equal(json.finish_time, '2026-03-04T05:06:08.500Z');
    assert.equal(json.next_run, '2026-03-05T00:00:00.000Z');
  });

  it('emits the state as a number', () => {
    for (const state of Object.values(TaskState)) {
      const json = toTaskJson(makeTask({ state }));
      assert.equal(typeof json.state, 'number');
      assert.equal(json.state, state);
    }
  });

  it('emits cli_args as null when empty and as the list otherwise', () => {
    assert.equal(toTaskJson(makeTask({ cliArgs: [] })).cli_args, null);
    assert.equal(toTaskJson(makeTask({ cliArgs: null })).cli_args, null);
    assert.deepEqual(toTaskJson(makeTask({ cliArgs: ['--x'] })).cli_args, ['--x']);
  });

  it('redacts the file', () => {
    const file = Buffer.from('\0asm\x01\0\0\0 and enough bytes to be redacted');
    const json = toTaskJson(makeTask({ file }));
    assert.equal(json.file, redactFile(file));
    assert.match(String(json.file), /^AGFzbQEAAA<REDACTED>.{10}$/);
  });

  it('shows a small file whole and omits an empty one', () => {
    assert.equal(toTaskJson(makeTask({ file: Buffer.from('\0asm') })).file, 'AGFzbQ==');
    assert.ok(!('file' in onWire(toTaskJson(makeTask({ file: new Uint8Array() })))));
  });

  it('prefers the preview a list query computed', () => {
    const json = toTaskJson(makeTask({ file: null, filePreview: 'AGFzbQEAAA<REDACTED>RpdmFsdWU=' }));
    assert.equal(json.file, 'AGFzbQEAAA<REDACTED>RpdmFsdWU=');
  });

  it('shows the proplet that runs the task, else the one that was asked for', () => {
    assert.equal(
      toTaskJson(makeTask({ propletId: 'p-run', requestedPropletId: 'p-asked' })).proplet_id,
      'p-run',
    );
    assert.equal(
      toTaskJson(makeTask({ propletId: null, requestedPropletId: 'p-asked' })).proplet_id,
      'p-asked',
    );
    assert.equal(
      toTaskJson(makeTask({ propletId: '', requestedPropletId: 'p-asked' })).proplet_id,
      'p-asked',
    );
    assert.equal(toTaskJson(makeTask()).proplet_id, undefined);
  });

  it('emits every value the task has, under upstream names', () => {
    const profile = {
      enabled: true,
      interval: 10,
      collect_cpu: true,
      collect_memory: true,
      collect_disk_io: true,
      collect_threads: true,
      collect_file_descriptors: true,
      export_to_mqtt: true,
      retain_history: true,
      history_size: 100,
    };
    const json = onWire(
      toTaskJson(
        makeTask({
          state: TaskState.Completed,
          imageUrl: 'https://example.test/app.wasm',
          inputs: ['1', '2'],
          env: { A: 'a' },
          daemon: true,
          latent: true,
          encrypted: true,
          kbsResourcePath: 'default/key/1',
          dependsOn: ['d-1'],
          runIf: 'failure',
          workflowId: 'w-1',
          jobId: 'j-1',
          results: '3',
          error: 'boom',
          monitoringProfile: profile,
          mode: 'infer',
          schedule: '0 * * * *',
          isRecurring: true,
          timezone: 'UTC',
          broadcast: true,
          priority: 10,
          metadata: { team: 'ml' },
          halStoragePath: '/var/hal',
          attempt: 2,
        }),
      ),
    );
    assert.equal(json.state, 3);
    assert.equal(json.image_url, 'https://example.test/app.wasm');
    assert.deepEqual(json.inputs, ['1', '2']);
    assert.deepEqual(json.env, { A: 'a' });
    assert.equal(json.daemon, true);
    assert.equal(json.latent, true);
    assert.equal(json.encrypted, true);
    assert.equal(json.kbs_resource_path, 'default/key/1');
    assert.deepEqual(json.depends_on, ['d-1']);
    assert.equal(json.run_if, 'failure');
    assert.equal(json.workflow_id, 'w-1');
    assert.equal(json.job_id, 'j-1');
    assert.equal(json.results, '3');
    assert.equal(json.error, 'boom');
    assert.deepEqual(json.monitoring_profile, profile);
    assert.equal(json.mode, 'infer');
    assert.equal(json.schedule, '0 * * * *');
    assert.equal(json.is_recurring, true);
    assert.equal(json.timezone, 'UTC');
    assert.equal(json.broadcast, true);
    assert.equal(json.priority, 10);
    assert.deepEqual(json.metadata, { team: 'ml' });
    assert.equal(json.hal_storage_path, '/var/hal');
    assert.equal(json.attempt, 2);
  });

  it('omits empty optional fields', () => {
    const json = onWire(
      toTaskJson(makeTask({ inputs: [], env: {}, dependsOn: [], imageUrl: '', error: '', results: null })),
    );
    for (const key of [
      'image_url',
      'inputs',
      'env',
      'latent',
      'kbs_resource_path',
      'proplet_id',
      'depends_on',
      'run_if',
      'workflow_id',
      'job_id',
      'results',
      'error',
      'monitoring_profile',
      'mode',
      'schedule',
      'is_recurring',
      'timezone',
      'broadcast',
      'metadata',
      'hal_storage_path',
    ]) {
      assert.ok(!(key in json), `${key} should be omitted`);
    }
  });

  it('keeps an empty string result: a run that printed nothing still has a result', () => {
    assert.equal(onWire(toTaskJson(makeTask({ results: '' }))).results, '');
  });

  it('keeps results that are falsy but set', () => {
    assert.equal(toTaskJson(makeTask({ results: 0 })).results, 0);
    assert.equal(toTaskJson(makeTask({ results: false })).results, false);
    assert.deepEqual(toTaskJson(makeTask({ results: { loss: 0.1 } })).results, { loss: 0.1 });
  });
});

describe('nextRetryDelay', () => {
  it('starts at 250 ms', () => {
    assert.equal(nextRetryDelay(0, 600_000), 250);
    assert.equal(nextRetryDelay(100, 600_000), 250);
  });

  it('grows with the time already waited', () => {
    let previous = 0;
    for (const waited of [0, 500, 1_000, 2_000, 4_000, 8_000]) {
      const delay = nextRetryDelay(waited, 600_000);
      assert.ok(delay >= previous, `after ${waited} ms: ${delay} < ${previous}`);
      previous = delay;
    }
    assert.equal(nextRetryDelay(2_000, 600_000), 1_000);
    assert.ok(nextRetryDelay(8_000, 600_000) > nextRetryDelay(1_000, 600_000));
  });

  it('is capped at 5 seconds', () => {
    assert.equal(nextRetryDelay(10_000, 600_000), 5_000);
    assert.equal(nextRetryDelay(3_600_000, 600_000), 5_000);
  });

  it('never waits past the start timeout by more than a millisecond', () => {
    assert.equal(nextRetryDelay(60_000, 100), 101);
    assert.equal(nextRetryDelay(0, 10), 11);
    for (const waited of [0, 300, 5_000, 100_000]) {
      for (const remaining of [0, 1, 50, 249, 4_999, 10_000]) {
        const delay = nextRetryDelay(waited, remaining);
        assert.ok(delay <= remaining + 1, `waited ${waited}, remaining ${remaining}: ${delay}`);
        assert.ok(delay >= 1, `waited ${waited}, remaining ${remaining}: ${delay}`);
      }
    }
  });

  it('waits at least 1 ms, even with no time left', () => {
    assert.equal(nextRetryDelay(0, 0), 1);
    assert.equal(nextRetryDelay(10_000, -50), 1);
  });
});

describe('sweepIntervalMs', () => {
  it('is a fifth of the alive timeout', () => {
    assert.equal(sweepIntervalMs(10_000), 2_000);
    assert.equal(sweepIntervalMs(1_500), 300);
  });

  it('is at most 5 seconds', () => {
    assert.equal(sweepIntervalMs(25_000), 5_000);
    assert.equal(sweepIntervalMs(600_000), 5_000);
  });

  it('is at least 200 ms', () => {
    assert.equal(sweepIntervalMs(500), 200);
    assert.equal(sweepIntervalMs(1), 200);
  });

  it('is a whole number of milliseconds', () => {
    assert.equal(sweepIntervalMs(1_234), 247);
  });
});

describe('startProblem', () => {
  const wasm = Buffer.from('\0asm\x01\0\0\0');

  it('accepts a task with a file or an image_url', () => {
    assert.equal(startProblem(makeTask({ file: wasm, fileSize: wasm.length })), undefined);
    assert.equal(startProblem(makeTask({ imageUrl: 'https://example.test/app.wasm' })), undefined);
    assert.equal(
      startProblem(makeTask({ file: wasm, fileSize: wasm.length, imageUrl: 'oci://registry/app' })),
      undefined,
    );
  });

  it('refuses a task with neither file nor image_url', () => {
    for (const task of [
      makeTask(),
      makeTask({ file: new Uint8Array(), imageUrl: '' }),
      makeTask({ file: null, imageUrl: null }),
    ]) {
      assert.match(startProblem(task) ?? '', /neither file nor image_url/);
    }
  });

  it('requires an encrypted task to have an image_url', () => {
    assert.match(startProblem(makeTask({ encrypted: true })) ?? '', /encrypted task needs an image_url/);
    assert.match(
      startProblem(makeTask({ encrypted: true, file: wasm, fileSize: wasm.length })) ?? '',
      /encrypted task needs an image_url/,
    );
  });

  it('refuses an encrypted task that also has a file', () => {
    assert.match(
      startProblem(
        makeTask({ encrypted: true, imageUrl: 'oci://registry/app', file: wasm, fileSize: wasm.length }),
      ) ?? '',
      /remove file/,
    );
  });

  it('accepts an encrypted task with only an image_url', () => {
    assert.equal(startProblem(makeTask({ encrypted: true, imageUrl: 'oci://registry/app' })), undefined);
    assert.equal(
      startProblem(makeTask({ encrypted: true, imageUrl: 'oci://registry/app', file: new Uint8Array() })),
      undefined,
    );
  });

  it('starts broadcast tasks like any other, and asks them for Wasm like any other', () => {
    assert.equal(startProblem(makeTask({ broadcast: true, file: wasm, fileSize: wasm.length })), undefined);
    assert.match(startProblem(makeTask({ broadcast: true })) ?? '', /neither file nor image_url/);
  });
});
