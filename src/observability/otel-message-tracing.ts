import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Span,
} from '@opentelemetry/api';
import type {
  IncomingMessage,
  MessageAttributes,
  MessageTracing,
  OutgoingMessage,
  UserProperties,
} from './message-tracing.ts';

/** The W3C fields the propagator reads; other user properties a proplet sends are no concern of tracing. */
function carrierOf(userProperties: UserProperties | undefined): Record<string, string> | undefined {
  if (!userProperties) return undefined;
  const carrier: Record<string, string> = {};
  for (const name of ['traceparent', 'tracestate', 'baggage']) {
    const value = userProperties[name];
    const first = Array.isArray(value) ? value[0] : value;
    if (typeof first === 'string') carrier[name] = first;
  }
  return carrier.traceparent === undefined ? undefined : carrier;
}

function idAttributes({ taskId, propletId }: MessageAttributes): Attributes {
  return {
    ...(taskId === undefined ? {} : { 'propeller.task.id': taskId }),
    ...(propletId === undefined ? {} : { 'propeller.proplet.id': propletId }),
  };
}

async function inSpan<T>(span: Span, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    throw error;
  } finally {
    span.end();
  }
}

/** MessageTracing on the OpenTelemetry API, with the messaging attributes of the semantic conventions. */
export function otelMessageTracing(version: string): MessageTracing {
  const tracer = trace.getTracer('propeller-manager/mqtt', version);
  return {
    publish<T>(message: OutgoingMessage, send: (userProperties?: Record<string, string>) => Promise<T>) {
      return tracer.startActiveSpan(
        `publish ${message.name}`,
        {
          kind: SpanKind.PRODUCER,
          attributes: {
            'messaging.system': 'mqtt',
            'messaging.operation.type': 'send',
            'messaging.destination.name': message.topic,
            ...idAttributes(message),
          },
        },
        (span) => {
          const carrier: Record<string, string> = {};
          propagation.inject(context.active(), carrier);
          return inSpan(span, () => send(carrier));
        },
      );
    },

    receive<T>(
      message: IncomingMessage,
      handle: (annotate: (attributes: MessageAttributes) => void) => Promise<T>,
    ) {
      const carrier = carrierOf(message.userProperties);
      // Only what the message carries is its parent: whatever context the MQTT client's callbacks run in is not.
      const parent = carrier ? propagation.extract(ROOT_CONTEXT, carrier) : ROOT_CONTEXT;
      return tracer.startActiveSpan(
        `receive ${message.name}`,
        {
          kind: SpanKind.CONSUMER,
          attributes: {
            'messaging.system': 'mqtt',
            'messaging.operation.type': 'receive',
            'messaging.destination.name': message.topic,
          },
        },
        parent,
        (span) => inSpan(span, () => handle((attributes) => span.setAttributes(idAttributes(attributes)))),
      );
    },
  };
}
