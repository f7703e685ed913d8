/**
 * A partial JSON Schema 2020-12 validator, for the keywords the OpenAPI document uses. A keyword it does not
 * know is ignored, so it may call a value valid that a full validator would refuse, never the reverse: a
 * value it calls invalid is invalid by the document.
 */
export type Schema = Record<string, any>;

/** Resolves `#/…` references against the document they are in. */
export function resolve(schema: Schema, root: Schema): Schema {
  let current = schema;
  for (let hops = 0; typeof current.$ref === 'string'; hops++) {
    if (hops > 32) throw new Error(`reference loop at ${String(current.$ref)}`);
    current = pointer(root, current.$ref);
  }
  return current;
}

export function pointer(root: Schema, ref: string): Schema {
  if (!ref.startsWith('#/')) throw new Error(`not a local reference: ${ref}`);
  let node: any = root;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object' || !(key in node))
      throw new Error(`unresolved reference: ${ref}`);
    node = node[key];
  }
  return node as Schema;
}

function typeOf(value: unknown): string[] {
  if (value === null) return ['null'];
  if (Array.isArray(value)) return ['array'];
  if (typeof value === 'number') return Number.isInteger(value) ? ['integer', 'number'] : ['number'];
  return [typeof value];
}

export function isValid(schema: Schema | boolean, value: unknown, root: Schema): boolean {
  if (schema === true) return true;
  if (schema === false) return false;
  // A reference and the keywords beside it both apply.
  if (schema.$ref)
    return isValid(resolve(schema, root), value, root) && isValid(withoutRef(schema), value, root);
  const s = schema;
  if (s.type !== undefined) {
    const allowed: string[] = Array.isArray(s.type) ? s.type : [s.type];
    if (!typeOf(value).some((type) => allowed.includes(type))) return false;
  }
  if ('const' in s && JSON.stringify(s.const) !== JSON.stringify(value)) return false;
  if (Array.isArray(s.enum) && !s.enum.some((e: unknown) => JSON.stringify(e) === JSON.stringify(value)))
    return false;
  if (Array.isArray(s.anyOf) && !s.anyOf.some((branch: Schema) => isValid(branch, value, root))) return false;
  if (Array.isArray(s.allOf) && !s.allOf.every((branch: Schema) => isValid(branch, value, root)))
    return false;
  if (typeof value === 'string') {
    const length = [...value].length;
    if (typeof s.minLength === 'number' && length < s.minLength) return false;
    if (typeof s.maxLength === 'number' && length > s.maxLength) return false;
    if (typeof s.pattern === 'string' && !new RegExp(s.pattern, 'u').test(value)) return false;
  }
  if (typeof value === 'number') {
    if (typeof s.minimum === 'number' && value < s.minimum) return false;
    if (typeof s.maximum === 'number' && value > s.maximum) return false;
  }
  if (Array.isArray(value)) {
    if (typeof s.minItems === 'number' && value.length < s.minItems) return false;
    if (typeof s.maxItems === 'number' && value.length > s.maxItems) return false;
    if (s.items !== undefined && !value.every((item) => isValid(s.items, item, root))) return false;
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const object = value as Record<string, unknown>;
    const properties: Record<string, Schema> = s.properties ?? {};
    if (Array.isArray(s.required) && !s.required.every((key: string) => key in object)) return false;
    for (const [key, item] of Object.entries(object)) {
      if (key in properties) {
        if (!isValid(properties[key]!, item, root)) return false;
      } else if (s.additionalProperties !== undefined && !isValid(s.additionalProperties, item, root))
        return false;
      if (s.propertyNames !== undefined && !isValid(s.propertyNames, key, root)) return false;
    }
  }
  return true;
}

function withoutRef(schema: Schema): Schema {
  const { $ref: _ref, ...rest } = schema;
  return rest;
}

/** The properties an object schema declares, through `$ref` and `allOf`. */
export function propertiesOf(schema: Schema, root: Schema): Record<string, Schema> {
  const s = resolve(schema, root);
  const own: Record<string, Schema> = { ...(s.properties ?? {}) };
  for (const branch of s.allOf ?? []) Object.assign(own, propertiesOf(branch, root));
  return own;
}

/** The schema without a `null` alternative: what a nullable property is when it is set. */
export function nonNull(schema: Schema, root: Schema): Schema {
  const s = resolve(schema, root);
  if (!Array.isArray(s.anyOf)) return s;
  const branches = s.anyOf.filter((branch: Schema) => resolve(branch, root).type !== 'null');
  return branches.length === 1 ? nonNull(branches[0], root) : s;
}
