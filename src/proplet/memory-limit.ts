const PAGE_BYTES = 65_536;
const MEMORY_SECTION = 5;

function readU32(bytes: Uint8Array, offset: number): { value: number; next: number } {
  let value = 0;
  for (let shift = 0, at = offset; ; shift += 7, at++) {
    const byte = bytes[at];
    if (byte === undefined) throw new Error('unexpected end of the Wasm binary');
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return { value, next: at + 1 };
    if (shift > 28) throw new Error('malformed LEB128 in the Wasm binary');
  }
}

function writeU32(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  do {
    let byte = rest & 0x7f;
    rest = Math.floor(rest / 128);
    if (rest > 0) byte |= 0x80;
    out.push(byte);
  } while (rest > 0);
  return out;
}

/**
 * Caps the linear memories a module defines at `maxBytes`, by rewriting their declared maximum: V8 then
 * refuses to grow past it (memory.grow returns -1), which is the only cap the JS API allows on Wasm memory.
 * A module that starts with more than the limit is refused. Imported memories are the host's to size.
 */
export function limitMemory(wasm: Uint8Array, maxBytes: number): Uint8Array {
  const maxPages = Math.floor(maxBytes / PAGE_BYTES);
  const out: number[] = Array.from(wasm.subarray(0, 8));
  let offset = 8;
  while (offset < wasm.length) {
    const id = wasm[offset]!;
    const size = readU32(wasm, offset + 1);
    const start = size.next;
    const end = start + size.value;
    if (id !== MEMORY_SECTION) {
      out.push(...wasm.subarray(offset, end));
      offset = end;
      continue;
    }
    const count = readU32(wasm, start);
    const body: number[] = writeU32(count.value);
    let at = count.next;
    for (let i = 0; i < count.value; i++) {
      const flags = wasm[at]!;
      const min = readU32(wasm, at + 1);
      let max: number | undefined;
      at = min.next;
      if (flags & 0x01) {
        const declared = readU32(wasm, at);
        max = declared.value;
        at = declared.next;
      }
      if (min.value > maxPages) {
        throw new Error(
          `the module needs ${min.value * 64} KiB of memory, over this proplet's limit of ${maxPages * 64} KiB`,
        );
      }
      // Shared memories (flag 0x02) keep that flag; every memory gets a maximum.
      body.push(flags | 0x01, ...writeU32(min.value), ...writeU32(Math.min(max ?? maxPages, maxPages)));
    }
    out.push(MEMORY_SECTION, ...writeU32(body.length), ...body);
    offset = end;
  }
  return Uint8Array.from(out);
}
