import { z } from 'zod';

/** Proplet ids are MQTT client ids; bounded so a hostile payload cannot bloat keys and rows. */
const propletId = z.string().trim().min(1).max(255);

const optionalText = z
  .string()
  .nullish()
  .transform((value) => value ?? undefined);

/** Upstream reads total_memory_bytes as 0 for want of float parsing; we keep the number. */
const byteCount = z
  .union([z.number(), z.string().regex(/^\d+$/).transform(Number)])
  .pipe(z.number().nonnegative().finite())
  .nullish()
  .transform((value) => value ?? undefined);

export const discoveryPayload = z.object({
  proplet_id: propletId,
  namespace: optionalText,
  metadata: z
    .object({
      description: optionalText,
      tags: z
        .array(z.string())
        .nullish()
        .transform((value) => value ?? undefined),
      location: optionalText,
      ip: optionalText,
      environment: optionalText,
      os: optionalText,
      hostname: optionalText,
      cpu_arch: optionalText,
      total_memory_bytes: byteCount,
      proplet_version: optionalText,
      wasm_runtime: optionalText,
    })
    .nullish()
    .transform((value) => value ?? {}),
});

export const heartbeatPayload = z.object({
  proplet_id: propletId,
  status: optionalText,
  namespace: optionalText,
});

export const resultPayload = z.object({
  // Task ids are UUIDs: anything else cannot name a task.
  task_id: z.guid(),
  proplet_id: propletId.optional(),
  results: z.unknown().optional(),
  error: z.string().nullish(),
});

/** An invocation's answer (spec §3.3.8); one without a string invocation_id can reach no waiter. */
export const invokeResultPayload = z.object({
  task_id: z.string().min(1).max(255),
  invocation_id: z.string().min(1).max(255),
  proplet_id: propletId.optional(),
  results: z.string().nullish(),
  error: z.string().nullish(),
});

export type DiscoveryPayload = z.infer<typeof discoveryPayload>;
export type HeartbeatPayload = z.infer<typeof heartbeatPayload>;
export type ResultPayload = z.infer<typeof resultPayload>;
export type InvokeResultPayload = z.infer<typeof invokeResultPayload>;

/** Drops keys whose value is undefined, so stored metadata omits what the proplet did not send. */
export function compactMetadata(metadata: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(metadata).filter(([, value]) => value !== undefined));
}
