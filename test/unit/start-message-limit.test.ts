import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
// mqtt.js's own encoder (its dependency): the sizes below are held to real packets.
import { generate } from 'mqtt-packet';
import { PayloadTooLargeError } from '../../src/domain/errors.ts';
import { TaskState } from '../../src/domain/task-state.ts';
import {
  buildBroadcastStartMessage,
  buildStartMessage,
  startMessageBytes,
} from '../../src/mqtt/outbound-payloads.ts';
import { publishPacketBytes, TRACE_PROPERTIES_BYTES } from '../../src/mqtt/publish-packet-size.ts';
import { StartMessageLimit } from '../../src/services/start-message-limit.ts';
import { makeTask } from './task-fixture.ts';

const TOPIC = 'm/tenant-0123/c/channel-4567/control/manager/start';
const PROPLET = '9d1c6c4e-0f3a-4d7b-a1c2-5e6f7a8b9c0d';

function wasm(bytes: number): Uint8Array {
  return Uint8Array.from({ length: bytes }, (_, i) => i % 251);
}

const task = (fileBytes: number) =>
  makeTask({
    state: TaskState.Running,
    file: fileBytes > 0 ? wasm(fileBytes) : null,
    fileSize: fileBytes,
    inputs: ['1', '2'],
    env: { MODE: 'fast' },
    cliArgs: ['--verbose'],
    imageUrl: null,
  });

describe('the size of a start command', () => {
  it('counts the JSON exactly as it is sent, without encoding the file', () => {
    for (const fileBytes of [0, 1, 2, 3, 4, 1000, 65_537]) {
      const sent = Buffer.byteLength(JSON.stringify(buildStartMessage(task(fileBytes), PROPLET)));
      assert.equal(
        startMessageBytes(task(fileBytes), fileBytes, { propletId: PROPLET }),
        sent,
        `${fileBytes}`,
      );
      const parents = { a: 'x'.repeat(300) };
      assert.equal(
        startMessageBytes(task(fileBytes), fileBytes, { propletId: PROPLET }, parents),
        Buffer.byteLength(JSON.stringify(buildStartMessage(task(fileBytes), PROPLET, parents))),
      );
      assert.equal(
        startMessageBytes(task(fileBytes), fileBytes, 'broadcast'),
        Buffer.byteLength(JSON.stringify(buildBroadcastStartMessage(task(fileBytes)))),
      );
    }
  });

  it('counts the whole PUBLISH packet, as mqtt.js encodes it, trace context included', () => {
    for (const payloadBytes of [0, 10, 127, 16_000, 2_100_000]) {
      const payload = Buffer.alloc(payloadBytes, 'a');
      const packet = {
        cmd: 'publish',
        topic: TOPIC,
        payload,
        qos: 1,
        messageId: 65_535,
        retain: false,
        dup: false,
      } as const;
      const bare = generate(packet);
      const traceContext = {
        traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`,
        tracestate: 'x'.repeat(512),
      };
      const traced = generate(
        { ...packet, properties: { userProperties: traceContext } },
        { protocolVersion: 5 },
      );
      const counted = publishPacketBytes(TOPIC, payloadBytes, TRACE_PROPERTIES_BYTES);
      // An upper bound, and a close one: the room kept for properties is all the difference.
      assert.ok(counted >= traced.length, `${payloadBytes}: ${counted} < ${traced.length}`);
      assert.ok(counted >= bare.length);
      assert.ok(counted - bare.length <= TRACE_PROPERTIES_BYTES + 3, `${payloadBytes}`);
    }
  });
});

describe('StartMessageLimit', () => {
  const fits = (limit: StartMessageLimit, fileBytes: number) =>
    limit.problem({ ...task(fileBytes), broadcast: false, requestedPropletId: null }, fileBytes) ===
    undefined;

  it('takes the largest file whose start fits in the packet limit, and refuses one byte more', () => {
    const limit = new StartMessageLimit(64 * 1024, TOPIC);
    let largest = 0;
    for (let step = 32 * 1024; step >= 1; step = Math.floor(step / 2))
      if (fits(limit, largest + step)) largest += step;
    assert.ok(fits(limit, largest));
    // base64 grows by 4 bytes per 3: the next size that does not fit is at most 3 bytes further.
    assert.ok(!fits(limit, largest + 3));
    // About three quarters of the packet, the rest being base64's growth and the rest of the message.
    assert.ok(largest > 0.72 * 64 * 1024 && largest < 0.75 * 64 * 1024, `${largest}`);
  });

  it('counts the worst case for a task not pinned to a proplet: the longest proplet id', () => {
    const limit = new StartMessageLimit(64 * 1024, TOPIC);
    const unpinned = limit.packetBytes(task(0), 0, { propletId: 'p'.repeat(255) });
    const pinned = limit.packetBytes(task(0), 0, { propletId: 'p' });
    assert.equal(unpinned - pinned, 254);
  });

  it('refuses with 413 and says what to do instead', () => {
    const limit = new StartMessageLimit(16 * 1024, TOPIC);
    assert.throws(
      () => limit.check({ ...task(20_000), broadcast: false, requestedPropletId: null }, 20_000),
      (error: unknown) => {
        assert.ok(error instanceof PayloadTooLargeError);
        assert.equal(error.status, 413);
        assert.match(error.message, /16 KiB/);
        assert.match(error.message, /MANAGER_PROPLET_MAX_PACKET_SIZE/);
        assert.match(error.message, /image_url/);
        return true;
      },
    );
    const noFile = { ...task(0), inputs: ['x'.repeat(20_000)], broadcast: true, requestedPropletId: null };
    assert.match(limit.problem(noFile, 0) ?? '', /inputs, env or cli_args/);
  });
});
