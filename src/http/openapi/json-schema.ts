import { z } from 'zod';
import { documentedInput } from '../schemas/documented-input.ts';

export type JsonSchema = Record<string, unknown>;

/**
 * The zod schemas the document names as components: a reference to one of them elsewhere in the document
 * becomes a `$ref` instead of a copy.
 */
export type ComponentNames = ReadonlyMap<z.ZodType, string>;

export const componentRef = (name: string) => `#/components/schemas/${name}`;

/**
 * A pipe that first accepts anything and checks it as a whole (for NUL characters, say), then parses it
 * with a real schema: what it accepts is described by that second schema.
 */
function afterPreCheck(schema: z.ZodType): z.ZodType | undefined {
  if (!(schema instanceof z.ZodPipe)) return undefined;
  const first = schema.in as z.ZodType;
  return first instanceof z.ZodUnknown || first instanceof z.ZodAny ? (schema.out as z.ZodType) : undefined;
}

function replaceContents(target: JsonSchema, contents: JsonSchema): void {
  for (const key of Object.keys(target)) delete target[key];
  Object.assign(target, contents);
}

/**
 * JSON Schema 2020-12 (the dialect of OpenAPI 3.1) of a zod schema: what a request may send (`input`: the
 * side before transforms) or what a response holds (`output`). Where zod cannot see the shape (transforms of
 * `unknown`) the documented stand-in or the schema after the pre-check is described instead; what JSON Schema
 * cannot say at all (refinements such as "a valid cron expression") is left to the descriptions, and the
 * server still enforces it.
 */
export function toJsonSchema(
  schema: z.ZodType,
  io: 'input' | 'output',
  components: ComponentNames = new Map(),
): JsonSchema {
  const converted = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    // A transform's output has no JSON Schema; requests are described by their input side anyway.
    unrepresentable: 'any',
    override: ({ zodSchema, jsonSchema }) => {
      const current = zodSchema as unknown as z.ZodType;
      const name = components.get(current);
      if (name !== undefined && current !== schema) {
        replaceContents(jsonSchema, { $ref: componentRef(name) });
        return;
      }
      const standIn = io === 'input' ? (documentedInput(current) ?? afterPreCheck(current)) : undefined;
      if (standIn) replaceContents(jsonSchema, toJsonSchema(standIn, io, components));
    },
  }) as JsonSchema;
  delete converted.$schema;
  return converted;
}
