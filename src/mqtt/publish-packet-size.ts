/**
 * What a PUBLISH packet costs on the wire, so that a command can be refused before it is sent to a proplet
 * that would drop it (the Rust proplet closes the connection on a packet beyond its maximum packet size).
 */

/** MQTT's variable byte integer: 7 bits a byte. */
function variableByteIntegerLength(value: number): number {
  if (value < 128) return 1;
  if (value < 16_384) return 2;
  if (value < 2_097_152) return 3;
  return 4;
}

/**
 * Room for the MQTT 5 user properties a command carries with tracing on: `traceparent` (55 characters) and a
 * `tracestate` of up to 512, each with its name and length prefixes.
 */
export const TRACE_PROPERTIES_BYTES =
  1 + 2 + 'traceparent'.length + 2 + 55 + 1 + 2 + 'tracestate'.length + 2 + 512;

/**
 * Bytes of the packet publishing `payloadBytes` on `topic` at QoS 1 or 2: the fixed header, the topic,
 * the packet id, up to `propertyBytes` of MQTT 5 properties, and the payload. An upper bound where fewer
 * properties go out (none on MQTT 3.1.1).
 */
export function publishPacketBytes(topic: string, payloadBytes: number, propertyBytes: number): number {
  const properties = variableByteIntegerLength(propertyBytes) + propertyBytes;
  const remaining = 2 + Buffer.byteLength(topic) + 2 + properties + payloadBytes;
  return 1 + variableByteIntegerLength(remaining) + remaining;
}
