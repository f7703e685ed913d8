/**
 * What the proplet needs to know of a Wasm module before running it, read from its binary: the parameter
 * and result types of each exported function (the JS API in Node 20 does not expose them), and the modules
 * it imports from (WASI or not).
 */
export type ValueType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'funcref' | 'externref';

export interface FunctionSignature {
  params: ValueType[];
  results: ValueType[];
}

export interface WasmModuleInfo {
  exports: Map<string, FunctionSignature>;
  importModules: Set<string>;
}

const VALUE_TYPES: Record<number, ValueType> = {
  0x7f: 'i32',
  0x7e: 'i64',
  0x7d: 'f32',
  0x7c: 'f64',
  0x7b: 'v128',
  0x70: 'funcref',
  0x6f: 'externref',
};

const SECTION = { type: 1, import: 2, function: 3, export: 7 } as const;

class Reader {
  offset = 0;
  constructor(private readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.offset >= this.bytes.length;
  }

  byte(): number {
    if (this.offset >= this.bytes.length) throw new Error('unexpected end of the Wasm binary');
    return this.bytes[this.offset++]!;
  }

  u32(): number {
    let result = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = this.byte();
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      if (shift > 28) throw new Error('malformed LEB128 in the Wasm binary');
    }
  }

  name(): string {
    const length = this.u32();
    const text = new TextDecoder().decode(this.bytes.subarray(this.offset, this.offset + length));
    this.offset += length;
    return text;
  }

  valueType(): ValueType {
    const code = this.byte();
    const type = VALUE_TYPES[code];
    if (!type) throw new Error(`unknown Wasm value type 0x${code.toString(16)}`);
    return type;
  }

  limits(): void {
    const flags = this.byte();
    this.u32();
    if (flags & 0x01) this.u32();
  }
}

/** The `\\0asm` magic every Wasm binary starts with. */
export function hasWasmMagic(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 8 && bytes[0] === 0x00 && bytes[1] === 0x61 && bytes[2] === 0x73 && bytes[3] === 0x6d
  );
}

export function readModuleInfo(bytes: Uint8Array): WasmModuleInfo {
  const reader = new Reader(bytes);
  if (!hasWasmMagic(bytes)) throw new Error('not a Wasm binary (no \\0asm magic)');
  reader.offset = 8;
  const types: FunctionSignature[] = [];
  const functionTypes: number[] = [];
  const importModules = new Set<string>();
  const exports = new Map<string, FunctionSignature>();
  const exportedFunctions: Array<[string, number]> = [];

  while (!reader.done) {
    const id = reader.byte();
    const size = reader.u32();
    const end = reader.offset + size;
    if (id === SECTION.type) {
      for (let count = reader.u32(); count > 0; count--) {
        if (reader.byte() !== 0x60) throw new Error('malformed function type in the Wasm binary');
        const params = Array.from({ length: reader.u32() }, () => reader.valueType());
        const results = Array.from({ length: reader.u32() }, () => reader.valueType());
        types.push({ params, results });
      }
    } else if (id === SECTION.import) {
      for (let count = reader.u32(); count > 0; count--) {
        importModules.add(reader.name());
        reader.name();
        const kind = reader.byte();
        if (kind === 0x00) functionTypes.push(reader.u32());
        else if (kind === 0x01) {
          reader.byte();
          reader.limits();
        } else if (kind === 0x02) reader.limits();
        else if (kind === 0x03) {
          reader.valueType();
          reader.byte();
        } else throw new Error(`unknown import kind ${kind} in the Wasm binary`);
      }
    } else if (id === SECTION.function) {
      for (let count = reader.u32(); count > 0; count--) functionTypes.push(reader.u32());
    } else if (id === SECTION.export) {
      for (let count = reader.u32(); count > 0; count--) {
        const name = reader.name();
        const kind = reader.byte();
        const index = reader.u32();
        if (kind === 0x00) exportedFunctions.push([name, index]);
      }
    }
    reader.offset = end;
  }

  for (const [name, index] of exportedFunctions) {
    const signature = types[functionTypes[index] ?? -1];
    if (signature) exports.set(name, signature);
  }
  return { exports, importModules };
}
