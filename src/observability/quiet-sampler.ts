import { trace, type Attributes, type Context, type Link, type SpanKind } from '@opentelemetry/api';
import { tracing } from '@opentelemetry/sdk-node';

/** BullMQ's upkeep of its own: stalled-job checks (every 5 s per worker) and lock renewals. */
const BULLMQ_UPKEEP = ['moveStalledJobsToWait ', 'startStalledCheckTimer ', 'extendLocks '];

/**
 * Traces that would only bury the ones that matter: a heartbeat or metrics-sample batch (one every 50 ms
 * under a large fleet, and nobody's request) and BullMQ's upkeep. The spans below them go too, as a dropped
 * root is not sampled for its children either.
 */
export function isQuietRoot(name: string): boolean {
  return (
    name === 'add proplet-liveness.heartbeats' ||
    name === 'add metrics.samples' ||
    BULLMQ_UPKEEP.some((prefix) => name.startsWith(prefix))
  );
}

/** Drops the traces isQuietRoot names before they begin; everything else is `delegate`'s to decide. */
export class QuietSampler implements tracing.Sampler {
  constructor(private readonly delegate: tracing.Sampler) {}

  shouldSample(
    context: Context,
    traceId: string,
    spanName: string,
    spanKind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): tracing.SamplingResult {
    if (trace.getSpanContext(context) === undefined && isQuietRoot(spanName))
      return { decision: tracing.SamplingDecision.NOT_RECORD };
    return this.delegate.shouldSample(context, traceId, spanName, spanKind, attributes, links);
  }

  toString(): string {
    return `QuietSampler{${this.delegate.toString()}}`;
  }
}
