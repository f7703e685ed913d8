import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { ValidationError } from '../../src/domain/errors.ts';
import { TaskState } from '../../src/domain/task-state.ts';
import { parseEventStreamRequest } from '../../src/http/schemas/event-query.ts';
import { toTaskEventJson } from '../../src/http/schemas/event-view.ts';
import { sseComment, sseEvent } from '../../src/http/sse.ts';

const A = '6f1c2a3e-1b2c-4d5e-8f90-a1b2c3d4e5f6';
const B = '7a1c2a3e-1b2c-4d5e-8f90-a1b2c3d4e5f6';

function refused(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (error: unknown) => error instanceof ValidationError && message.test(error.message));
}

describe('GET /events request', () => {
  it('reads task ids repeated or comma-separated, without duplicates', () => {
    assert.deepEqual(parseEventStreamRequest({ task_id: [A, `${B},${A}`] }), { taskIds: [A, B] });
    assert.deepEqual(parseEventStreamRequest({}), {});
  });

  it('refuses ids that are not UUIDs, empty lists and more than 100 tasks, naming task_id', () => {
    refused(() => parseEventStreamRequest({ task_id: `${A},nope` }), /task_id: expected a UUID, got 'nope'/);
    refused(() => parseEventStreamRequest({ task_id: ',' }), /task_id/);
    const many = Array.from({ length: 101 }, (_, i) => A.slice(0, -3) + String(i).padStart(3, '0'));
    refused(() => parseEventStreamRequest({ task_id: many.join(',') }), /at most 100/);
    refused(() => parseEventStreamRequest({ task_id: { nested: A } }), /task_id/);
  });

  it('resumes from the Last-Event-ID header first, else from last_event_id', () => {
    assert.deepEqual(parseEventStreamRequest({ last_event_id: '7' }, '12'), { lastEventId: 12 });
    assert.deepEqual(parseEventStreamRequest({ last_event_id: '7' }), { lastEventId: 7 });
    refused(() => parseEventStreamRequest({}, '-1'), /Last-Event-ID/);
    refused(() => parseEventStreamRequest({ last_event_id: '1e3' }), /last_event_id/);
  });
});

describe('event stream frames', () => {
  it('puts each event on one data line, whatever its text holds', () => {
    const frame = sseEvent(
      'task',
      toTaskEventJson({
        id: 41,
        kind: 'changed',
        taskId: A,
        name: 'two\nlines\r\n',
        state: TaskState.Failed,
        previousState: TaskState.Running,
        propletId: 'p1',
        attempt: 2,
        error: 'data: forged\n\nevent: x',
        time: new Date('2026-01-02T03:04:05.678Z'),
      }),
      41,
    );
    const lines = frame.split('\n');
    assert.deepEqual(lines.slice(0, 2), ['id: 41', 'event: task']);
    assert.ok(lines[2]!.startsWith('data: {'));
    assert.deepEqual(lines.slice(3), ['', '']);
    const data = JSON.parse(lines[2]!.slice('data: '.length));
    assert.equal(data.error, 'data: forged\n\nevent: x');
    assert.equal(data.state_name, 'Failed');
    assert.equal(data.previous_state_name, 'Running');
    assert.equal(data.time, '2026-01-02T03:04:05.678Z');
    assert.equal(sseComment('keep-alive'), ': keep-alive\n\n');
    assert.ok(!sseEvent('ready', { position: 0 }).includes('id:'));
  });
});

describe('events configuration', () => {
  it('has a 15 s keep-alive and a 5 min retention by default, and takes others', () => {
    assert.deepEqual(loadConfig({}, '/nonexistent').events, { heartbeatMs: 15_000, retentionMs: 300_000 });
    assert.deepEqual(
      loadConfig({ MANAGER_EVENTS_HEARTBEAT: '2s', MANAGER_EVENTS_RETENTION: '1h' }, '/nonexistent').events,
      { heartbeatMs: 2_000, retentionMs: 3_600_000 },
    );
  });

  it('refuses a keep-alive the write timeout would cut off, or a bad duration, naming the variable', () => {
    for (const env of [
      { MANAGER_EVENTS_HEARTBEAT: '60s' },
      {
        MANAGER_EVENTS_HEARTBEAT: '45s',
        MANAGER_HTTP_SERVER_WRITE_TIMEOUT: '40s',
        MANAGER_INVOKE_TIMEOUT: '10s',
      },
    ])
      assert.throws(
        () => loadConfig(env, '/nonexistent'),
        (error: unknown) => error instanceof ConfigError && /MANAGER_EVENTS_HEARTBEAT/.test(error.message),
      );
    assert.throws(
      () => loadConfig({ MANAGER_EVENTS_RETENTION: 'soon' }, '/nonexistent'),
      (error: unknown) => error instanceof ConfigError && /MANAGER_EVENTS_RETENTION/.test(error.message),
    );
  });
});
