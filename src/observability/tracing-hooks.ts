import type { Telemetry } from 'bullmq';
import type { MessageTracing } from './message-tracing.ts';

/** What the manager's own code needs from tracing: spans around MQTT messages, and BullMQ's telemetry. */
export interface TracingHooks {
  messages: MessageTracing;
  queueTelemetry: Telemetry;
  /** Sends the spans still buffered, within `timeoutMs`; false when the time ran out first. */
  shutdown(timeoutMs: number): Promise<boolean>;
}

let installed: TracingHooks | undefined;

/**
 * Set once by the tracing preload when it started the SDK (src/observability/tracing-sdk.ts), before the
 * application is loaded; the composition root (Resources) hands them to the code that publishes, consumes
 * and queues. This module imports nothing of OpenTelemetry, so with tracing off none of it is loaded.
 */
export function installTracingHooks(hooks: TracingHooks): void {
  installed = hooks;
}

/** Undefined unless tracing is on in this process. */
export function tracingHooks(): TracingHooks | undefined {
  return installed;
}
