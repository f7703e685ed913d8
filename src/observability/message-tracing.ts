/** MQTT 5 user properties as mqtt.js hands them over (a repeated name gives an array). */
export type UserProperties = Record<string, string | string[]>;

/** What a span says about the message, beyond its topic: the task and proplet it concerns. */
export interface MessageAttributes {
  taskId?: string;
  propletId?: string;
}

export interface OutgoingMessage extends MessageAttributes {
  topic: string;
  /** The topic below the channel (`control/manager/start`): the span's name, the same on every channel. */
  name: string;
}

export interface IncomingMessage {
  topic: string;
  name: string;
  userProperties?: UserProperties;
}

/**
 * Trace context across MQTT. A command is published inside a span whose W3C context (traceparent,
 * tracestate) goes out as MQTT 5 user properties, outside the payload; a proplet that sends them back on its
 * result joins the result to the trace of the start. With tracing off this is NO_MESSAGE_TRACING, which
 * adds nothing at all, and no OpenTelemetry code is loaded.
 */
export interface MessageTracing {
  /** Runs `send` in a span; it gets the user properties to publish with, undefined with tracing off. */
  publish<T>(
    message: OutgoingMessage,
    send: (userProperties?: Record<string, string>) => Promise<T>,
  ): Promise<T>;
  /** Runs `handle` in a span that continues the trace the message carries, or begins one. */
  receive<T>(
    message: IncomingMessage,
    handle: (annotate: (attributes: MessageAttributes) => void) => Promise<T>,
  ): Promise<T>;
}

export const NO_MESSAGE_TRACING: MessageTracing = {
  publish: (_message, send) => send(undefined),
  receive: (_message, handle) => handle(() => undefined),
};
