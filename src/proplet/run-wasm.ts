import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WASI } from 'node:wasi';
import { limitMemory } from './memory-limit.ts';
import { readModuleInfo, type ValueType } from './wasm-module-info.ts';

export interface RunRequest {
  wasm: Uint8Array;
  /** The task name: the export to call, as upstream uses it. */
  name: string;
  inputs: string[];
  env: Record<string, string>;
  cliArgs: string[];
  /** Bytes of linear memory the module may use. */
  maxMemoryBytes: number;
}

const WASI_MODULE = 'wasi_snapshot_preview1';
/** When the task's name is not an export, the Rust proplet tries these, in this order. */
const FALLBACK_EXPORTS = ['main', 'run', '_start'];

/** Turns a text input into the argument the parameter's type needs, as the Rust proplet parses them. */
function toArgument(text: string, type: ValueType, position: number): number | bigint {
  const trimmed = text.trim();
  const fail = () => new Error(`input ${position + 1} ('${text}') is not a valid ${type}`);
  switch (type) {
    case 'i32': {
      if (!/^[-+]?\d+$/.test(trimmed)) throw fail();
      const value = Number(trimmed);
      if (value < -(2 ** 31) || value > 2 ** 32 - 1) throw fail();
      return value | 0;
    }
    case 'i64': {
      if (!/^[-+]?\d+$/.test(trimmed)) throw fail();
      const value = BigInt(trimmed);
      if (value < -(2n ** 63n) || value > 2n ** 64n - 1n) throw fail();
      return BigInt.asIntN(64, value);
    }
    case 'f32':
    case 'f64': {
      const value = Number(trimmed);
      if (trimmed === '' || Number.isNaN(value)) throw fail();
      return value;
    }
    default:
      throw new Error(`parameter ${position + 1} has type ${type}, which a task input cannot give`);
  }
}

/** Runs with stdout and stderr going to files, so a WASI program's output can be read back. */
function withCapturedOutput<T>(run: (stdout: number, stderr: number) => T): {
  value: T;
  stdout: string;
  stderr: string;
} {
  const dir = mkdtempSync(join(tmpdir(), 'proplet-'));
  const stdoutPath = join(dir, 'stdout');
  const stderrPath = join(dir, 'stderr');
  const stdout = openSync(stdoutPath, 'w+');
  const stderr = openSync(stderrPath, 'w+');
  try {
    const value = run(stdout, stderr);
    return { value, stdout: readFileSync(stdoutPath, 'utf8'), stderr: readFileSync(stderrPath, 'utf8') };
  } finally {
    closeSync(stdout);
    closeSync(stderr);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs one task the way the upstream Rust proplet does: calls the export named by the task (or main, run,
 * _start), with the inputs parsed as its parameters, and gives its first result as text; a WASI command
 * (_start) gives its standard output. Throws with the message on a trap, a bad input or a failed exit.
 */
export async function runWasm(request: RunRequest): Promise<string> {
  const info = readModuleInfo(request.wasm);
  const exportName = [request.name, ...FALLBACK_EXPORTS].find((name) => info.exports.has(name));
  if (!exportName) {
    throw new Error(`the module exports no function '${request.name}' (nor ${FALLBACK_EXPORTS.join(', ')})`);
  }
  const signature = info.exports.get(exportName)!;
  const module = await WebAssembly.compile(limitMemory(request.wasm, request.maxMemoryBytes));

  if (!info.importModules.has(WASI_MODULE)) {
    const instance = await WebAssembly.instantiate(module, {});
    return call(instance, exportName, signature.params, request.inputs);
  }

  const isCommand = exportName === '_start';
  const captured = withCapturedOutput((stdout, stderr) => {
    const wasi = new WASI({
      version: 'preview1',
      args: [request.name, ...request.cliArgs],
      env: request.env,
      stdout,
      stderr,
      returnOnExit: true,
    });
    const instance = new WebAssembly.Instance(module, wasi.getImportObject() as WebAssembly.Imports);
    if (isCommand) return { exitCode: wasi.start(instance), result: undefined };
    // A named export of a WASI module: bind WASI to its memory without running _start.
    wasi.initialize({ exports: { memory: instance.exports.memory } });
    return { exitCode: 0, result: call(instance, exportName, signature.params, request.inputs) };
  });
  if (captured.value.exitCode !== 0) {
    const detail = captured.stderr.trim();
    throw new Error(`exited with code ${captured.value.exitCode}${detail ? `: ${detail}` : ''}`);
  }
  return isCommand ? captured.stdout : (captured.value.result ?? '');
}

function call(instance: WebAssembly.Instance, name: string, params: ValueType[], inputs: string[]): string {
  if (inputs.length !== params.length) {
    throw new Error(`'${name}' takes ${params.length} inputs, got ${inputs.length}`);
  }
  // A Wasm function returns a number, a BigInt (i64), or nothing; the first result is reported as text.
  type Value = number | bigint;
  const fn = instance.exports[name] as (...args: Value[]) => Value | Value[] | undefined;
  const returned = fn(...inputs.map((input, i) => toArgument(input, params[i]!, i)));
  const first = Array.isArray(returned) ? returned[0] : returned;
  return first === undefined ? '' : first.toString();
}
