import { formatByteSize } from '../config/variable-types.ts';
import { PayloadTooLargeError } from '../domain/errors.ts';
import { MAX_IDENTIFIER_LENGTH } from '../domain/identifiers.ts';
import type { Task } from '../domain/task.ts';
import { TaskState } from '../domain/task-state.ts';
import { startMessageBytes, type StartedTask } from '../mqtt/outbound-payloads.ts';
import { publishPacketBytes, TRACE_PROPERTIES_BYTES } from '../mqtt/publish-packet-size.ts';

/** Stands in for the id of a task not created yet: every task id is a UUID, of this length. */
const SOME_TASK_ID = '00000000-0000-0000-0000-000000000000';
/** Stands in for the proplet that a task pinned to none will go to: the longest id a proplet may have. */
const LONGEST_PROPLET_ID = 'p'.repeat(MAX_IDENTIFIER_LENGTH);

/** A task as created or changed: what its start command will carry, but its file, whose size is enough. */
export type SizedTask = Omit<StartedTask, 'id' | 'state' | 'file'> &
  Pick<Task, 'broadcast' | 'requestedPropletId'>;

/**
 * Inline Wasm travels in the start command, as base64, and a proplet drops (the Rust proplet: disconnects
 * on) an MQTT packet beyond its maximum packet size, so a task that could never be started is refused when
 * it is created or changed rather than fail on every proplet later. The size counted is the whole packet:
 * the JSON with the file's base64, the topic, the headers and the trace context.
 */
export class StartMessageLimit {
  constructor(
    /** MANAGER_PROPLET_MAX_PACKET_SIZE. */
    readonly maxPacketBytes: number,
    /** The topic starts are published on (its length counts). */
    private readonly startTopic: string,
  ) {}

  /** Bytes of the packet carrying this start, to this proplet or broadcast. */
  packetBytes(
    task: Omit<StartedTask, 'file'>,
    fileBytes: number,
    to: { propletId: string } | 'broadcast',
    parentResults?: Record<string, unknown>,
  ): number {
    const payload = startMessageBytes(task, fileBytes, to, parentResults);
    return publishPacketBytes(this.startTopic, payload, TRACE_PROPERTIES_BYTES);
  }

  /** Why a start of this task could not reach a proplet, or undefined when it could. */
  problem(task: SizedTask, fileBytes: number): string | undefined {
    const to = task.broadcast
      ? ('broadcast' as const)
      : { propletId: task.requestedPropletId ?? LONGEST_PROPLET_ID };
    const bytes = this.packetBytes({ ...task, id: SOME_TASK_ID, state: TaskState.Running }, fileBytes, to);
    return this.tooLarge(bytes, fileBytes);
  }

  /** Refuses (413) a task created or changed so that it could not be started. */
  check(task: SizedTask, fileBytes: number): void {
    const problem = this.problem(task, fileBytes);
    if (problem) throw new PayloadTooLargeError(problem);
  }

  /** The problem with a start of `bytes`, or undefined when it fits. */
  tooLarge(bytes: number, fileBytes: number): string | undefined {
    if (bytes <= this.maxPacketBytes) return undefined;
    const over = `its start command would be ${bytes} bytes, over the ${formatByteSize(this.maxPacketBytes)} a proplet takes in one MQTT packet (MANAGER_PROPLET_MAX_PACKET_SIZE)`;
    return fileBytes > 0
      ? `task too large: ${over}, as its ${fileBytes}-byte inline file goes in it as base64; host the module (on an HTTP server or an OCI registry) and set image_url instead of file`
      : `task too large: ${over}; send less in inputs, env or cli_args`;
  }
}
