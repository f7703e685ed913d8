import type { z } from 'zod';
import { describePath, jsonShapeProblem } from '../domain/json-shape.ts';
import { mqttMessagesIn } from '../observability/metrics.ts';
import type { Logger } from '../observability/logger.ts';
import {
  NO_MESSAGE_TRACING,
  type MessageAttributes,
  type MessageTracing,
  type UserProperties,
} from '../observability/message-tracing.ts';
import type { JobQueues } from '../queue/job-queues.ts';
import { RejectedPayloads, shownId, type RejectionReason } from '../observability/rejected-payloads.ts';
import type { HeartbeatBatcher } from './heartbeat-batcher.ts';
import { replaceNulCharacters } from './nul-characters.ts';
import {
  compactMetadata,
  discoveryPayload,
  heartbeatPayload,
  invokeResultPayload,
  propletMetricsPayload,
  resultPayload,
  taskMetricsPayload,
} from './inbound-payloads.ts';
import type { MetricsBatcher } from './metrics-batcher.ts';
import { PROPLET_TOPICS, propletTopicKind, type PropletTopicKind } from './topics.ts';

const SCHEMAS = {
  create: discoveryPayload,
  alive: heartbeatPayload,
  results: resultPayload,
  taskMetrics: taskMetricsPayload,
  propletMetrics: propletMetricsPayload,
  invokeResults: invokeResultPayload,
} as const satisfies Record<PropletTopicKind, z.ZodType>;

/** Heartbeats, discoveries and metrics samples take a few kilobytes with every optional field set. */
const SMALL_PAYLOAD_BYTES = 64 * 1024;
/** What a run produced may fill a proplet's whole MQTT packet. */
const LARGE_PAYLOADS: ReadonlySet<PropletTopicKind> = new Set(['results', 'invokeResults']);
/** A string in one of these fields that its schema refuses is an id that is not sane: counted as bad_id. */
const ID_FIELDS: ReadonlySet<PropertyKey> = new Set(['proplet_id', 'task_id', 'invocation_id']);

/** A payload that passed every check, or why it is dropped. */
type Parsed = { data: unknown } | { reason: RejectionReason; detail: Record<string, unknown> };

/**
 * Messages handled inside a span: those that concern one task or one proplet's arrival. Heartbeats and
 * metrics samples come by the thousand and go on in batches; a span each would cost more than it shows.
 */
const TRACED: ReadonlySet<PropletTopicKind> = new Set(['create', 'results', 'invokeResults']);

type Annotate = (attributes: MessageAttributes) => void;
const NOT_TRACED: Annotate = () => undefined;

/**
 * Turns a message on a proplet topic into a queue job. A payload that is too large, not JSON, nested too
 * deep, does not match its schema or names an id that is not sane is counted and logged (RejectedPayloads),
 * then dropped: it can never become valid by being retried.
 */
export class PropletMessageRouter {
  private readonly rejected: RejectedPayloads;

  constructor(
    private readonly base: string,
    private readonly queues: JobQueues,
    private readonly heartbeats: HeartbeatBatcher,
    logger: Logger,
    private readonly metrics: MetricsBatcher,
    /** MANAGER_PROPLET_MAX_PACKET_SIZE: a proplet sends nothing larger. */
    private readonly maxPayloadBytes: number,
    private readonly tracing: MessageTracing = NO_MESSAGE_TRACING,
  ) {
    this.rejected = new RejectedPayloads(logger);
  }

  /** `userProperties` may carry the trace of the command this message answers (see MessageTracing). */
  async route(
    topic: string,
    payload: Buffer,
    receivedAt = Date.now(),
    userProperties?: UserProperties,
  ): Promise<void> {
    const kind = propletTopicKind(this.base, topic);
    if (!kind) return;
    const label = PROPLET_TOPICS[kind];
    mqttMessagesIn.inc({ topic: label });
    if (!TRACED.has(kind)) return this.handle(kind, label, payload, receivedAt, NOT_TRACED);
    return this.tracing.receive({ topic, name: label, userProperties }, (annotate) =>
      this.handle(kind, label, payload, receivedAt, annotate),
    );
  }

  private async handle(
    kind: PropletTopicKind,
    label: string,
    payload: Buffer,
    receivedAt: number,
    annotate: Annotate,
  ): Promise<void> {
    let parsed: Parsed;
    try {
      parsed = this.parse(kind, payload);
    } catch (error) {
      // No payload may stop the ingress: whatever a check trips over counts as a payload that does not fit.
      parsed = { reason: 'schema', detail: { problem: (error as Error).message } };
    }
    if ('reason' in parsed) {
      this.rejected.record(label, parsed.reason, { bytes: payload.length, ...parsed.detail });
      return;
    }

    switch (kind) {
      case 'create': {
        const data = parsed.data as z.infer<typeof discoveryPayload>;
        annotate({ propletId: data.proplet_id });
        await this.queues.enqueue('proplet-liveness', 'discovery', {
          propletId: data.proplet_id,
          metadata: compactMetadata(data.metadata),
          receivedAt,
        });
        return;
      }
      case 'alive': {
        const data = parsed.data as z.infer<typeof heartbeatPayload>;
        if (data.status === 'offline') {
          // A last will: the proplet is gone now, not in 25 seconds (Decision 2). Not batched: it must not be lost.
          await this.queues.enqueue('proplet-liveness', 'offline', {
            propletId: data.proplet_id,
            receivedAt,
          });
        } else {
          this.heartbeats.add({ propletId: data.proplet_id, receivedAt });
        }
        return;
      }
      case 'results': {
        const data = parsed.data as z.infer<typeof resultPayload>;
        annotate({ taskId: data.task_id, propletId: data.proplet_id });
        await this.queues.enqueue('task-results', 'result', {
          taskId: data.task_id,
          propletId: data.proplet_id,
          results: data.results ?? null,
          error: data.error ?? null,
          receivedAt,
        });
        return;
      }
      // Samples are soft state, as heartbeats are: batched, and acknowledged before they are queued.
      case 'taskMetrics': {
        const data = parsed.data as z.infer<typeof taskMetricsPayload>;
        this.metrics.add({
          task: {
            taskId: data.task_id,
            propletId: data.proplet_id,
            metrics: data.metrics,
            aggregated: data.aggregated,
            at: data.timestamp ?? receivedAt,
          },
        });
        return;
      }
      case 'propletMetrics': {
        const data = parsed.data as z.infer<typeof propletMetricsPayload>;
        this.metrics.add({
          proplet: {
            propletId: data.proplet_id,
            namespace: data.namespace,
            cpu: data.cpu_metrics,
            memory: compactMetadata(data.memory_metrics) as Record<string, number>,
            at: data.timestamp ?? receivedAt,
          },
        });
        return;
      }
      case 'invokeResults': {
        const data = parsed.data as z.infer<typeof invokeResultPayload>;
        annotate({ taskId: data.task_id, propletId: data.proplet_id });
        await this.queues.enqueue('task-results', 'invoke-result', {
          taskId: data.task_id,
          invocationId: data.invocation_id,
          propletId: data.proplet_id,
          results: data.results ?? '',
          error: data.error === '' ? null : (data.error ?? null),
        });
        return;
      }
    }
  }

  /** The payload checked, cheapest first: its size before it is parsed, its shape before its schema. */
  private parse(kind: PropletTopicKind, payload: Buffer): Parsed {
    const limitBytes = LARGE_PAYLOADS.has(kind)
      ? this.maxPayloadBytes
      : Math.min(SMALL_PAYLOAD_BYTES, this.maxPayloadBytes);
    if (payload.length > limitBytes) return { reason: 'too_large', detail: { limitBytes } };
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch {
      return { reason: 'not_json', detail: {} };
    }
    const shape = jsonShapeProblem(json, { nul: 'allow' });
    if (shape)
      return {
        reason: shape.kind === 'depth' ? 'too_deep' : 'schema',
        detail: { field: describePath(shape.path), problem: shape.message },
      };
    const parsed = SCHEMAS[kind].safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.length === 1 ? issue.path[0] : undefined;
      const value = field === undefined ? undefined : (json as Record<PropertyKey, unknown>)[field];
      if (field !== undefined && ID_FIELDS.has(field) && typeof value === 'string')
        return {
          reason: 'bad_id',
          detail: { field: String(field), id: shownId(value), problem: issue?.message },
        };
      return {
        reason: 'schema',
        detail: { field: describePath(issue?.path ?? []), problem: issue?.message },
      };
    }
    // After the ids were checked: an id with a NUL character in it is no id, whereas a result is kept.
    return { data: replaceNulCharacters(parsed.data) };
  }
}
