import type { z } from 'zod';
import { mqttMessagesIn, mqttMessagesRejected } from '../observability/metrics.ts';
import type { Logger } from '../observability/logger.ts';
import {
  NO_MESSAGE_TRACING,
  type MessageAttributes,
  type MessageTracing,
  type UserProperties,
} from '../observability/message-tracing.ts';
import type { JobQueues } from '../queue/job-queues.ts';
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

/**
 * Messages handled inside a span: those that concern one task or one proplet's arrival. Heartbeats and
 * metrics samples come by the thousand and go on in batches; a span each would cost more than it shows.
 */
const TRACED: ReadonlySet<PropletTopicKind> = new Set(['create', 'results', 'invokeResults']);

type Annotate = (attributes: MessageAttributes) => void;
const NOT_TRACED: Annotate = () => undefined;

/**
 * Turns a message on a proplet topic into a queue job. A payload that is not a JSON object or does not match
 * its schema is logged and counted, then dropped: it can never become valid by being retried.
 */
export class PropletMessageRouter {
  constructor(
    private readonly base: string,
    private readonly queues: JobQueues,
    private readonly heartbeats: HeartbeatBatcher,
    private readonly logger: Logger,
    private readonly metrics: MetricsBatcher,
    private readonly tracing: MessageTracing = NO_MESSAGE_TRACING,
  ) {}

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
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch {
      return this.reject(label, 'not JSON', payload.length);
    }
    const parsed = SCHEMAS[kind].safeParse(replaceNulCharacters(json));
    if (!parsed.success)
      return this.reject(label, parsed.error.issues[0]?.message ?? 'schema', payload.length, parsed.error);

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

  private reject(topic: string, reason: string, bytes: number, detail?: unknown): void {
    const kind = reason === 'not JSON' ? 'not_json' : 'schema';
    mqttMessagesRejected.inc({ topic, reason: kind });
    // The payload itself is not logged: it may be large, or carry what should not reach logs.
    this.logger.warn(
      { topic, reason, bytes, detail: detail instanceof Error ? detail.message : undefined },
      'MQTT payload rejected',
    );
  }
}
