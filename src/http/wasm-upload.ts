import busboy from 'busboy';
import type { Request } from 'express';
import { PayloadTooLargeError, ValidationError } from '../domain/errors.ts';
import { bodyTooLargeMessage } from './errors.ts';

/** Every WebAssembly binary starts with these four bytes, `\0asm`. */
const WASM_MAGIC = Buffer.from([0x00, 0x61, 0x73, 0x6d]);
const UPLOAD_PART = 'file';
/** Other parts are read and ignored; these bound what they may cost. */
const OTHER_PARTS = { fields: 32, fieldSize: 64 * 1024, parts: 64 };

/** Why an uploaded file is not one the manager takes, or undefined when it is. */
export function wasmUploadProblem(filename: string, bytes: Buffer): string | undefined {
  if (!filename.endsWith('.wasm'))
    return `invalid file: the file name must end in .wasm, got '${filename.slice(0, 100)}'`;
  if (bytes.length < WASM_MAGIC.length || !bytes.subarray(0, WASM_MAGIC.length).equals(WASM_MAGIC))
    return 'invalid file: not a WebAssembly module (it must start with the bytes \\0asm)';
  return undefined;
}

const notMultipart = () =>
  new ValidationError(`invalid upload: expected a multipart/form-data body with a '${UPLOAD_PART}' part`);
const malformed = () => new ValidationError('invalid upload: malformed multipart body');
const tooLarge = (maxBytes: number) => new PayloadTooLargeError(bodyTooLargeMessage(maxBytes));

/**
 * Reads the `file` part of a multipart upload as it streams in, within `maxBytes` of body, and checks it is
 * a Wasm module. Rejects with a ValidationError (400) or PayloadTooLargeError (413) once the rest of the
 * body has been read off, as Express's body parsers do, so the client gets the answer rather than a reset.
 */
export function readWasmUpload(req: Request, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return discardThenReject(req, tooLarge(maxBytes));
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: req.headers,
      limits: { ...OTHER_PARTS, fileSize: maxBytes },
    });
  } catch {
    // Not multipart at all, or without a boundary.
    return discardThenReject(req, notMultipart());
  }

  return new Promise<Buffer>((resolve, reject) => {
    let settled = false;
    let received = 0;
    let upload: { filename: string; chunks: Buffer[]; done: Promise<void> } | undefined;

    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      req.unpipe(parser);
      parser.removeAllListeners();
      // Errors the parser still raises on what it was fed have no one to go to.
      parser.on('error', () => undefined);
      discardThenReject(req, error).catch(reject);
    };

    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBytes) fail(tooLarge(maxBytes));
    });
    req.on('error', (error) => fail(error));

    parser.on('file', (name, stream, info) => {
      // A form cut short ends its file streams with an error; the parser reports the same one.
      stream.on('error', () => fail(malformed()));
      if (name !== UPLOAD_PART || upload) {
        stream.resume();
        return;
      }
      const chunks: Buffer[] = [];
      const done = new Promise<void>((finished) => stream.once('end', finished).once('close', finished));
      upload = { filename: info.filename ?? '', chunks, done };
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('limit', () => fail(tooLarge(maxBytes)));
    });
    parser.on('field', (name) => {
      if (name === UPLOAD_PART && !upload)
        fail(
          new ValidationError(`invalid upload: the '${UPLOAD_PART}' part must be a file, with a file name`),
        );
    });
    parser.on('error', () => fail(malformed()));
    parser.on('close', () => {
      if (settled) return;
      if (!upload) {
        fail(new ValidationError(`invalid upload: missing the '${UPLOAD_PART}' part (a .wasm file)`));
        return;
      }
      const { filename, chunks, done } = upload;
      void done.then(() => {
        if (settled) return;
        const bytes = Buffer.concat(chunks);
        const problem = wasmUploadProblem(filename, bytes);
        if (problem) {
          fail(new ValidationError(problem));
          return;
        }
        settled = true;
        resolve(bytes);
      });
    });

    req.pipe(parser);
  });
}

/** Reads off what is left of the body, then rejects: answering before would reset the client's upload. */
function discardThenReject(req: Request, error: Error): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (req.readableEnded || req.destroyed) {
      reject(error);
      return;
    }
    const settle = () => reject(error);
    req.once('end', settle).once('close', settle).once('error', settle);
    req.resume();
  });
}
