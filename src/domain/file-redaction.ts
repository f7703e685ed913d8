const PREVIEW_CHARS = 10;
const FULL_BASE64_LIMIT = 20;

/**
 * How upstream shows an inline Wasm file on output: the whole base64 when it is at most 20 characters,
 * otherwise the first and last 10 characters around `<REDACTED>`. Clients rely on the field being a string.
 */
export function redactBase64(base64: string): string {
  if (base64.length <= FULL_BASE64_LIMIT) return base64;
  return `${base64.slice(0, PREVIEW_CHARS)}<REDACTED>${base64.slice(-PREVIEW_CHARS)}`;
}

export function redactFile(file: Uint8Array | null | undefined): string | undefined {
  if (!file || file.length === 0) return undefined;
  return redactBase64(Buffer.from(file).toString('base64'));
}

/**
 * Bytes a list query loads from the start and the end of a file instead of the whole file. The tail starts
 * at a multiple of 3 (a base64 group), FILE_TAIL_BYTES / 3 groups before the end.
 */
export const FILE_HEAD_BYTES = 15;
export const FILE_TAIL_BYTES = 15;

/**
 * The redacted form computed from the file's length, its first bytes and its last base64 groups,
 * so listing tasks never reads whole Wasm binaries. Equals redactFile(whole file).
 */
export function redactFromPreview(length: number, head: Uint8Array, tail: Uint8Array): string | undefined {
  if (length === 0) return undefined;
  if (length <= FILE_HEAD_BYTES) return redactBase64(Buffer.from(head).toString('base64'));
  const start = Buffer.from(head).toString('base64').slice(0, PREVIEW_CHARS);
  const end = Buffer.from(tail).toString('base64').slice(-PREVIEW_CHARS);
  return `${start}<REDACTED>${end}`;
}
