import { createHash } from 'node:crypto';
import { hasWasmMagic } from './wasm-module-info.ts';

const DOWNLOAD_TIMEOUT_MS = 30_000;
const ACCEPTED_CONTENT_TYPES = ['', 'application/wasm', 'application/octet-stream'];
const CACHE_ENTRIES = 32;

/**
 * Where a task's Wasm comes from: inline (`file`, base64) or `image_url` over HTTP(S), as the Rust proplet
 * fetches it: 4xx/5xx refused, the content type must be empty, application/wasm or
 * application/octet-stream, and the size is bounded. Downloads are kept by URL with their SHA-256 digest,
 * so a task started again does not download again, and two URLs serving the same bytes share one copy.
 */
export class WasmSource {
  private readonly byUrl = new Map<string, string>();
  private readonly byDigest = new Map<string, Uint8Array>();

  constructor(private readonly maxBytes: number) {}

  async load(start: { file?: string; image_url?: string }): Promise<Uint8Array> {
    if (start.file) {
      const bytes = Buffer.from(start.file, 'base64');
      if (!hasWasmMagic(bytes)) throw new Error('the inline file is not a Wasm binary');
      return bytes;
    }
    const url = start.image_url ?? '';
    if (!/^https?:\/\//.test(url)) {
      throw new Error(
        `cannot fetch '${url}': this proplet downloads http(s) URLs only (no OCI registry proxy)`,
      );
    }
    const digest = this.byUrl.get(url);
    const cached = digest ? this.byDigest.get(digest) : undefined;
    if (cached) return cached;
    const bytes = await this.download(url);
    this.remember(url, bytes);
    return bytes;
  }

  private async download(url: string): Promise<Uint8Array> {
    const response = await fetch(url, { signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`fetching ${url} failed: HTTP ${response.status}`);
    const contentType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (!ACCEPTED_CONTENT_TYPES.includes(contentType)) {
      throw new Error(`fetching ${url}: unexpected content type '${contentType}'`);
    }
    const declared = Number(response.headers.get('content-length') ?? 0);
    if (declared > this.maxBytes)
      throw new Error(`fetching ${url}: ${declared} bytes is over the ${this.maxBytes}-byte limit`);
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of response.body ?? []) {
      size += (chunk as Uint8Array).length;
      if (size > this.maxBytes) throw new Error(`fetching ${url}: over the ${this.maxBytes}-byte limit`);
      chunks.push(chunk as Uint8Array);
    }
    const bytes = Buffer.concat(chunks);
    if (!hasWasmMagic(bytes)) throw new Error(`fetching ${url}: not a Wasm binary`);
    return bytes;
  }

  private remember(url: string, bytes: Uint8Array): void {
    const digest = createHash('sha256').update(bytes).digest('hex');
    this.byDigest.set(digest, bytes);
    this.byUrl.set(url, digest);
    if (this.byUrl.size > CACHE_ENTRIES) {
      const [oldest] = this.byUrl.keys();
      this.byUrl.delete(oldest!);
      const inUse = new Set(this.byUrl.values());
      for (const known of this.byDigest.keys()) if (!inUse.has(known)) this.byDigest.delete(known);
    }
  }
}
