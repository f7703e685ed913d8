import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { ValidationError } from '../../src/domain/errors.ts';
import { parseMetadataFilter } from '../../src/http/schemas/metadata-filter.ts';
import { monitoringProfileInput } from '../../src/http/schemas/monitoring-profile.ts';
import { parsePage } from '../../src/http/schemas/pagination.ts';
import { createTaskBody, updateTaskBody } from '../../src/http/schemas/task-input.ts';
import { describeIssues, parseOrThrow } from '../../src/http/schemas/validation.ts';

const ZERO_TIME = '0001-01-01T00:00:00Z';
const WASM = Buffer.from('\0asm\x01\0\0\0');

/** The readable error a client would get for `body`. */
function createError(body: unknown): string {
  const parsed = createTaskBody.safeParse(body);
  if (parsed.success) assert.fail(`expected ${JSON.stringify(body)} to be rejected`);
  return describeIssues(parsed.error);
}

/** The paths of the fields a rejected body is blamed on. */
function createIssuePaths(body: unknown): string[] {
  const parsed = createTaskBody.safeParse(body);
  if (parsed.success) assert.fail(`expected ${JSON.stringify(body)} to be rejected`);
  return parsed.error.issues.map((issue) => issue.path.join('.'));
}

const FULL_PROFILE = {
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

describe('createTaskBody', () => {
  it('reads a minimal task with the defaults', () => {
    const task = createTaskBody.parse({ name: 'add' });
    assert.deepEqual(task, {
      name: 'add',
      kind: 'standard',
      imageUrl: null,
      file: null,
      cliArgs: null,
      inputs: null,
      env: null,
      daemon: false,
      latent: false,
      encrypted: false,
      kbsResourcePath: null,
      requestedPropletId: null,
      dependsOn: null,
      runIf: null,
      workflowId: null,
      jobId: null,
      monitoringProfile: null,
      mode: null,
      schedule: null,
      isRecurring: false,
      timezone: null,
      broadcast: false,
      priority: 50,
      metadata: null,
      halStoragePath: null,
      timeoutSeconds: null,
      maxRetries: null,
      retryOnError: false,
      position: null,
    });
  });

  it('requires a name', () => {
    assert.match(createError({}), /^name: /);
    assert.deepEqual(createIssuePaths({ file: WASM.toString('base64') }), ['name']);
    assert.match(createError({ name: '' }), /name: missing identity name/);
    assert.match(createError({ name: '   ' }), /name: missing identity name/);
    assert.match(createError({ name: 42 }), /^name: /);
  });

  it('rejects a name longer than 255 characters', () => {
    assert.deepEqual(createIssuePaths({ name: 'n'.repeat(256) }), ['name']);
    assert.equal(createTaskBody.parse({ name: 'n'.repeat(255) }).name.length, 255);
  });

  it('keeps inputs as text, numbers included', () => {
    const task = createTaskBody.parse({ name: 'add', inputs: [1, 2.5, '3', -4] });
    assert.deepEqual(task.inputs, ['1', '2.5', '3', '-4']);
  });

  it('rejects inputs that are neither strings nor numbers', () => {
    assert.deepEqual(createIssuePaths({ name: 'add', inputs: [true] }), ['inputs.0']);
    assert.deepEqual(createIssuePaths({ name: 'add', inputs: [{}] }), ['inputs.0']);
    assert.match(createError({ name: 'add', inputs: 'x' }), /^inputs: /);
  });

  it('decodes a base64 file to its bytes', () => {
    const task = createTaskBody.parse({ name: 'add', file: WASM.toString('base64') });
    assert.ok(task.file instanceof Uint8Array);
    assert.deepEqual(Buffer.from(task.file), WASM);
  });

  it('reads an empty file as no file', () => {
    assert.equal(createTaskBody.parse({ name: 'add', file: '' }).file, null);
    assert.equal(createTaskBody.parse({ name: 'add', file: null }).file, null);
  });

  it('rejects a file that is not standard padded base64', () => {
    for (const file of ['not base64!', 'AGFzbQ', 'AGF-bQ==', 'AGFzbQ===', '====', 42]) {
      assert.deepEqual(createIssuePaths({ name: 'add', file }), ['file'], String(file));
    }
  });

  it('defaults a priority of 0 or none to 50', () => {
    assert.equal(createTaskBody.parse({ name: 'add', priority: 0 }).priority, 50);
    assert.equal(createTaskBody.parse({ name: 'add', priority: null }).priority, 50);
    assert.equal(createTaskBody.parse({ name: 'add' }).priority, 50);
    assert.equal(createTaskBody.parse({ name: 'add', priority: 1 }).priority, 1);
    assert.equal(createTaskBody.parse({ name: 'add', priority: 100 }).priority, 100);
  });

  it('rejects a priority outside 0 to 100 or not an integer', () => {
    assert.match(createError({ name: 'add', priority: 101 }), /^priority: /);
    assert.match(createError({ name: 'add', priority: -1 }), /^priority: /);
    assert.match(createError({ name: 'add', priority: 5.5 }), /^priority: /);
  });

  it('rejects a task naming both a workflow and a job, blaming job_id', () => {
    const id = '0b1e9e36-2d9c-4f43-a3a0-6f2a7c0c4a11';
    assert.deepEqual(createIssuePaths({ name: 'add', workflow_id: id, job_id: id }), ['job_id']);
  });

  it('rejects broadcast together with proplet_id, blaming proplet_id', () => {
    assert.deepEqual(createIssuePaths({ name: 'add', broadcast: true, proplet_id: 'p-1' }), ['proplet_id']);
    assert.match(
      createError({ name: 'add', broadcast: true, proplet_id: 'p-1' }),
      /proplet_id: broadcast and proplet_id cannot be used together/,
    );
  });

  it('accepts broadcast alone and proplet_id alone', () => {
    assert.equal(createTaskBody.parse({ name: 'add', broadcast: true }).broadcast, true);
    const pinned = createTaskBody.parse({ name: 'add', proplet_id: 'p-1', broadcast: false });
    assert.equal(pinned.requestedPropletId, 'p-1');
    assert.equal(pinned.broadcast, false);
    assert.equal(createTaskBody.parse({ name: 'add', broadcast: true, proplet_id: '' }).broadcast, true);
  });

  it('reads run_if success, failure or empty, and rejects anything else', () => {
    assert.equal(createTaskBody.parse({ name: 'add', run_if: 'success' }).runIf, 'success');
    assert.equal(createTaskBody.parse({ name: 'add', run_if: 'failure' }).runIf, 'failure');
    assert.equal(createTaskBody.parse({ name: 'add', run_if: '' }).runIf, null);
    assert.match(
      createError({ name: 'add', run_if: 'sometimes' }),
      /^run_if: must be 'success' or 'failure'/,
    );
  });

  it('accepts and ignores server-owned fields, Go zero timestamps included', () => {
    const task = createTaskBody.parse({
      id: 'client-chosen',
      name: 'add',
      state: 3,
      results: '3',
      error: 'old',
      start_time: ZERO_TIME,
      finish_time: ZERO_TIME,
      created_at: ZERO_TIME,
      updated_at: ZERO_TIME,
      next_run: ZERO_TIME,
      attempt: 9,
      unknown_field: { anything: true },
    });
    assert.equal(task.name, 'add');
    for (const key of [
      'id',
      'state',
      'results',
      'error',
      'startTime',
      'createdAt',
      'unknown_field',
      'attempt',
    ]) {
      assert.ok(!(key in task), `${key} should be ignored`);
    }
  });

  it('reads what the Go SDK sends', () => {
    const task = createTaskBody.parse({
      name: 'add',
      file: WASM.toString('base64'),
      inputs: ['1', '2'],
      daemon: false,
      encrypted: false,
      cli_args: null,
      start_time: ZERO_TIME,
      finish_time: ZERO_TIME,
      created_at: ZERO_TIME,
      updated_at: ZERO_TIME,
    });
    assert.deepEqual(task.inputs, ['1', '2']);
    assert.equal(task.cliArgs, null);
  });

  it('reads empty strings as absent values', () => {
    const task = createTaskBody.parse({
      name: 'add',
      image_url: '',
      kbs_resource_path: '',
      proplet_id: '',
      workflow_id: '',
      job_id: '',
      mode: '',
      schedule: '',
      timezone: '',
      hal_storage_path: '',
    });
    assert.equal(task.imageUrl, null);
    assert.equal(task.kbsResourcePath, null);
    assert.equal(task.requestedPropletId, null);
    assert.equal(task.workflowId, null);
    assert.equal(task.jobId, null);
    assert.equal(task.mode, null);
    assert.equal(task.schedule, null);
    assert.equal(task.timezone, null);
    assert.equal(task.halStoragePath, null);
  });

  it('keeps every value it is given', () => {
    const workflowId = '0b1e9e36-2d9c-4f43-a3a0-6f2a7c0c4a11';
    const task = createTaskBody.parse({
      name: 'train',
      kind: 'federated',
      image_url: 'oci://registry/app',
      cli_args: ['--x'],
      env: { A: 'a' },
      daemon: true,
      latent: true,
      encrypted: true,
      kbs_resource_path: 'default/key/1',
      depends_on: [workflowId],
      run_if: 'success',
      workflow_id: workflowId,
      mode: 'train',
      schedule: '*/5 * * * *',
      is_recurring: true,
      timezone: 'Europe/Paris',
      priority: 70,
      metadata: { team: 'ml' },
      hal_storage_path: '/var/hal',
    });
    assert.equal(task.kind, 'federated');
    assert.equal(task.imageUrl, 'oci://registry/app');
    assert.deepEqual(task.cliArgs, ['--x']);
    assert.deepEqual(task.env, { A: 'a' });
    assert.equal(task.daemon, true);
    assert.equal(task.latent, true);
    assert.equal(task.encrypted, true);
    assert.equal(task.kbsResourcePath, 'default/key/1');
    assert.deepEqual(task.dependsOn, [workflowId]);
    assert.equal(task.workflowId, workflowId);
    assert.equal(task.jobId, null);
    assert.equal(task.mode, 'train');
    assert.equal(task.schedule, '*/5 * * * *');
    assert.equal(task.isRecurring, true);
    assert.equal(task.timezone, 'Europe/Paris');
    assert.equal(task.priority, 70);
    assert.deepEqual(task.metadata, { team: 'ml' });
    assert.equal(task.halStoragePath, '/var/hal');
  });

  it('reads an empty depends_on as none', () => {
    assert.equal(createTaskBody.parse({ name: 'add', depends_on: [] }).dependsOn, null);
  });

  it('rejects values of the wrong kind, naming the field', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ kind: 'other' }, 'kind'],
      [{ env: { A: 1 } }, 'env.A'],
      [{ depends_on: ['not-a-uuid'] }, 'depends_on.0'],
      [{ workflow_id: 'nope' }, 'workflow_id'],
      [{ mode: 'guess' }, 'mode'],
      [{ metadata: [1, 2] }, 'metadata'],
      [{ daemon: 'yes' }, 'daemon'],
      [{ monitoring_profile: { enabled: 'yes' } }, 'monitoring_profile.enabled'],
    ];
    for (const [fields, path] of cases) {
      assert.deepEqual(createIssuePaths({ name: 'add', ...fields }), [path], JSON.stringify(fields));
    }
  });

  it('rejects metadata larger than 1 MiB', () => {
    assert.match(createError({ name: 'add', metadata: { blob: 'x'.repeat(1024 * 1024) } }), /^metadata: /);
  });

  it('completes a partial monitoring profile', () => {
    const task = createTaskBody.parse({
      name: 'add',
      monitoring_profile: { enabled: false, history_size: 5 },
    });
    assert.deepEqual(task.monitoringProfile, { ...FULL_PROFILE, enabled: false, history_size: 5 });
  });
});

describe('monitoringProfileInput', () => {
  it('completes an empty profile to all ten fields', () => {
    const profile = monitoringProfileInput.parse({});
    assert.deepEqual(Object.keys(profile).sort(), Object.keys(FULL_PROFILE).sort());
    assert.equal(Object.keys(profile).length, 10);
    assert.deepEqual(profile, FULL_PROFILE);
  });

  it('keeps every field that was sent', () => {
    const sent = {
      enabled: false,
      interval: 30,
      collect_cpu: false,
      collect_memory: false,
      collect_disk_io: false,
      collect_threads: false,
      collect_file_descriptors: false,
      export_to_mqtt: false,
      retain_history: false,
      history_size: 7,
    };
    assert.deepEqual(monitoringProfileInput.parse(sent), sent);
  });

  it('reads Go nanoseconds as seconds', () => {
    assert.equal(monitoringProfileInput.parse({ interval: 10_000_000_000 }).interval, 10);
    assert.equal(monitoringProfileInput.parse({ interval: 120_000_000_000 }).interval, 120);
  });

  it('never turns a nanosecond interval into 0 seconds', () => {
    assert.equal(monitoringProfileInput.parse({ interval: 1_000_000 }).interval, 1);
  });

  it('keeps an interval already in seconds', () => {
    assert.equal(monitoringProfileInput.parse({ interval: 60 }).interval, 60);
    assert.equal(monitoringProfileInput.parse({ interval: 999_999 }).interval, 999_999);
  });

  it('rejects a field of the wrong type', () => {
    assert.equal(monitoringProfileInput.safeParse({ enabled: null }).success, false);
    assert.equal(monitoringProfileInput.safeParse({ interval: '10s' }).success, false);
  });

  it('rejects a negative interval or history size', () => {
    assert.equal(monitoringProfileInput.safeParse({ interval: -1 }).success, false);
    assert.equal(monitoringProfileInput.safeParse({ history_size: -1 }).success, false);
    assert.equal(monitoringProfileInput.safeParse({ history_size: 1.5 }).success, false);
  });

  // The Rust proplet decodes `interval` as a u64 of seconds (spec 3.3.1): a fraction makes the whole
  // start message undecodable, and the proplet drops it without a result.
  it('never yields a fractional interval, which the Rust proplet cannot decode', () => {
    for (const interval of [2.5, 0.5, 1_500_000_000.5]) {
      const parsed = monitoringProfileInput.safeParse({ interval });
      if (parsed.success) {
        assert.ok(
          Number.isInteger(parsed.data.interval),
          `interval ${interval} became ${parsed.data.interval}`,
        );
      }
    }
  });
});

describe('updateTaskBody', () => {
  it('changes nothing for an empty body', () => {
    assert.deepEqual(updateTaskBody.parse({}), {});
  });

  it('changes nothing for a whole task with empty fields', () => {
    const patch = updateTaskBody.parse({
      id: '0b1e9e36-2d9c-4f43-a3a0-6f2a7c0c4a11',
      name: '',
      state: 0,
      image_url: '',
      file: '',
      cli_args: null,
      inputs: null,
      env: null,
      priority: 0,
      metadata: null,
      schedule: '',
      is_recurring: false,
      timezone: '',
      start_time: ZERO_TIME,
      finish_time: ZERO_TIME,
      created_at: ZERO_TIME,
      updated_at: ZERO_TIME,
    });
    assert.deepEqual(patch, {});
  });

  it('ignores a blank name', () => {
    assert.deepEqual(updateTaskBody.parse({ name: '   ' }), {});
  });

  it('includes the fields sent with a value', () => {
    const patch = updateTaskBody.parse({
      name: ' renamed ',
      inputs: [1, '2'],
      file: WASM.toString('base64'),
      image_url: 'https://example.test/app.wasm',
      env: { A: 'a' },
      cli_args: ['--x'],
      priority: 80,
      metadata: { team: 'ml' },
    });
    assert.equal(patch.name, 'renamed');
    assert.deepEqual(patch.inputs, ['1', '2']);
    assert.deepEqual(Buffer.from(patch.file!), WASM);
    assert.equal(patch.imageUrl, 'https://example.test/app.wasm');
    assert.deepEqual(patch.env, { A: 'a' });
    assert.deepEqual(patch.cliArgs, ['--x']);
    assert.equal(patch.priority, 80);
    assert.deepEqual(patch.metadata, { team: 'ml' });
    assert.deepEqual(Object.keys(patch).sort(), [
      'cliArgs',
      'env',
      'file',
      'imageUrl',
      'inputs',
      'metadata',
      'name',
      'priority',
    ]);
  });

  it('includes only the one field that was sent', () => {
    assert.deepEqual(updateTaskBody.parse({ priority: 10 }), { priority: 10 });
    assert.deepEqual(Object.keys(updateTaskBody.parse({ file: WASM.toString('base64') })), ['file']);
  });

  it('still validates what it is sent', () => {
    assert.equal(updateTaskBody.safeParse({ priority: 101 }).success, false);
    assert.equal(updateTaskBody.safeParse({ file: 'not base64!' }).success, false);
    assert.equal(updateTaskBody.safeParse({ run_if: 'sometimes' }).success, false);
  });
});

describe('describeIssues and parseOrThrow', () => {
  it('names each offending field', () => {
    const parsed = createTaskBody.safeParse({ priority: 101, run_if: 'sometimes' });
    if (parsed.success) assert.fail('expected a rejection');
    const text = describeIssues(parsed.error);
    assert.match(text, /(^|; )name: /);
    assert.match(text, /(^|; )priority: /);
    assert.match(text, /(^|; )run_if: /);
    assert.equal(text.split('; ').length, 3);
  });

  it('joins nested paths with dots', () => {
    const parsed = z.object({ a: z.object({ b: z.array(z.number()) }) }).safeParse({ a: { b: ['x'] } });
    if (parsed.success) assert.fail('expected a rejection');
    assert.match(describeIssues(parsed.error), /^a\.b\.0: /);
  });

  it('gives the bare message of an issue without a path', () => {
    const parsed = z.string().safeParse(1);
    if (parsed.success) assert.fail('expected a rejection');
    const [issue] = parsed.error.issues;
    assert.ok(issue);
    assert.deepEqual(issue.path, []);
    assert.equal(describeIssues(parsed.error), issue.message);
  });

  it('throws a ValidationError saying what was invalid', () => {
    assert.throws(
      () => parseOrThrow(createTaskBody, { name: '' }),
      (error: unknown) =>
        error instanceof ValidationError &&
        error.status === 400 &&
        error.message === 'invalid request: name: missing identity name',
    );
    assert.throws(() => parseOrThrow(createTaskBody, {}, 'task'), /^ValidationError: invalid task: name: /);
  });

  it('returns the parsed value', () => {
    assert.equal(parseOrThrow(createTaskBody, { name: 'add', priority: 0 }).priority, 50);
  });
});

describe('parsePage', () => {
  const tasks = { minLimit: 1, maxLimit: 100 };
  const proplets = { minLimit: 0, maxLimit: 1000 };

  /** Asserts that the query is refused with a ValidationError (400) whose message matches. */
  function assertRejected(query: Record<string, unknown>, bounds: typeof tasks, message: RegExp): void {
    assert.throws(
      () => parsePage(query, bounds),
      (error: unknown) =>
        error instanceof ValidationError && error.status === 400 && message.test(error.message),
    );
  }

  it('defaults to offset 0 and limit 100', () => {
    assert.deepEqual(parsePage({}, tasks), { offset: 0, limit: 100 });
    assert.deepEqual(parsePage({ offset: '', limit: '' }, tasks), { offset: 0, limit: 100 });
  });

  it('reads offset and limit', () => {
    assert.deepEqual(parsePage({ offset: '20', limit: '10' }, tasks), { offset: 20, limit: 10 });
  });

  it('rejects values that are not non-negative integers', () => {
    assertRejected({ offset: 'abc' }, tasks, /offset/);
    assertRejected({ offset: '-1' }, tasks, /offset/);
    assertRejected({ limit: '1.5' }, tasks, /limit/);
    assertRejected({ limit: '10abc' }, tasks, /limit/);
    assertRejected({ limit: ['1', '2'] }, tasks, /limit/);
  });

  it('holds the limit to its bounds', () => {
    assertRejected({ limit: '0' }, tasks, /limit/);
    assertRejected({ limit: '101' }, tasks, /limit/);
    assert.equal(parsePage({ limit: '1' }, tasks).limit, 1);
    assert.equal(parsePage({ limit: '100' }, tasks).limit, 100);
    assert.equal(parsePage({ limit: '0' }, proplets).limit, 0);
    assert.equal(parsePage({ limit: '1000' }, proplets).limit, 1000);
    assertRejected({ limit: '1001' }, proplets, /limit/);
  });

  it('rejects an offset too large to be exact', () => {
    assertRejected({ offset: '99999999999999999999' }, tasks, /offset/);
  });
});

describe('parseMetadataFilter', () => {
  it('is absent when not given', () => {
    assert.equal(parseMetadataFilter(undefined), undefined);
    assert.equal(parseMetadataFilter(''), undefined);
  });

  it('reads a JSON object', () => {
    assert.deepEqual(parseMetadataFilter('{"team":"ml","level":2}'), { team: 'ml', level: 2 });
    assert.deepEqual(parseMetadataFilter('{}'), {});
  });

  it('rejects JSON that is not an object', () => {
    for (const raw of ['[1]', 'null', '"text"', '3', '{oops', 'true']) {
      assert.throws(
        () => parseMetadataFilter(raw),
        (error: unknown) =>
          error instanceof ValidationError && /metadata must be a JSON object/.test(error.message),
        raw,
      );
    }
  });

  it('rejects a metadata parameter given twice', () => {
    assert.throws(() => parseMetadataFilter(['{}', '{}']), ValidationError);
  });
});
