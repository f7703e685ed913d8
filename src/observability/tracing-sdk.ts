import { setTimeout as sleep } from 'node:timers/promises';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { NodeSDK, resources, tracing } from '@opentelemetry/sdk-node';
import { BullMQOtel } from 'bullmq-otel';
import type { Config } from '../config/config.ts';
import { buildInfo } from './build-info.ts';
import type { Logger } from './logger.ts';
import { logOtelDiagnostics } from './otel-diagnostics.ts';
import { otelMessageTracing } from './otel-message-tracing.ts';
import { QuietSampler } from './quiet-sampler.ts';
import { redisStatement } from './redis-statement.ts';
import { installTracingHooks } from './tracing-hooks.ts';

/**
 * Requests polled by probes, scrapers and Bull Board's page: a trace for each would bury the ones that
 * matter. And the event stream, whose one request lasts as long as its client follows it.
 */
const UNTRACED_PATHS = ['/health', '/metrics', '/admin/queues', '/events'];

export function isUntracedRequest(url: string): boolean {
  const path = url.split('?', 1)[0]!;
  return UNTRACED_PATHS.some((untraced) => path === untraced || path.startsWith(`${untraced}/`));
}

let sdk: NodeSDK | undefined;

/**
 * Starts OpenTelemetry for this process: spans of HTTP requests (and the Express routes serving them),
 * Postgres queries, Redis commands, BullMQ jobs and MQTT messages, sent over OTLP/HTTP (JSON) to the
 * collector. Must run before the application's modules are loaded (see tracing-bootstrap.ts).
 */
export function startTracing(
  config: Config & { tracing: NonNullable<Config['tracing']> },
  logger: Logger,
): void {
  const { version } = buildInfo();
  logOtelDiagnostics(logger);
  sdk = new NodeSDK({
    serviceName: 'propeller-manager',
    resource: resources.resourceFromAttributes({
      'service.version': version,
      'service.instance.id': config.instanceId,
      'propeller.manager.roles': [...config.roles],
    }),
    traceExporter: new OTLPTraceExporter({ url: config.tracing.tracesUrl }),
    // A trace is kept or dropped as a whole: spans continuing a caller's trace follow the caller's choice.
    sampler: new QuietSampler(
      new tracing.ParentBasedSampler({ root: new tracing.TraceIdRatioBasedSampler(config.tracing.ratio) }),
    ),
    // Metrics are prom-client's (/metrics) and logs pino's: the SDK would otherwise export both over OTLP.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => isUntracedRequest(request.url ?? ''),
        requireParentforOutgoingSpans: true,
      }),
      // The handler that answered; routers and our middleware (the request log, anonymous) would say nothing.
      new ExpressInstrumentation({
        ignoreLayersType: [ExpressLayerType.MIDDLEWARE, ExpressLayerType.ROUTER],
      }),
      // Only inside a trace: BullMQ's Postgres backend polls and listens on its own, many times a second.
      // A pool checkout is no query: its span would double every query's.
      new PgInstrumentation({ requireParentSpan: true, ignoreConnectSpans: true }),
      // Likewise for BullMQ's blocking pops, lock renewals and stall checks on Redis. The statement keeps the
      // command and its keys only: the arguments of a script carry job data (a task's env, its results).
      new IORedisInstrumentation({ requireParentSpan: true, dbStatementSerializer: redisStatement }),
    ],
  });
  sdk.start();
  installTracingHooks({
    messages: otelMessageTracing(version),
    queueTelemetry: new BullMQOtel({ tracerName: 'propeller-manager/bullmq', version }),
    shutdown: stopTracing,
  });
}

/**
 * Sends the spans still buffered and stops, within `timeoutMs`: a collector that does not answer must not
 * hold up the exit. False when the time ran out first.
 */
async function stopTracing(timeoutMs: number): Promise<boolean> {
  if (!sdk) return true;
  const stopping = sdk.shutdown().then(
    () => true,
    () => false,
  );
  sdk = undefined;
  const timedOut = sleep(timeoutMs, false, { ref: false });
  return Promise.race([stopping, timedOut]);
}
