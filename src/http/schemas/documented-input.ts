import type { z } from 'zod';

/**
 * What a schema accepts, for the OpenAPI document, where zod cannot see it: a schema built as a transform
 * of `unknown` (to word its errors its own way, say) validates a definite shape that JSON Schema cannot
 * read off it. The stand-in must accept exactly what the schema accepts; build it from the same parts.
 */
const standIns = new WeakMap<z.ZodType, z.ZodType>();

export function documentInputAs<T extends z.ZodType>(schema: T, standIn: z.ZodType): T {
  standIns.set(schema, standIn);
  return schema;
}

export function documentedInput(schema: z.ZodType): z.ZodType | undefined {
  return standIns.get(schema);
}
