import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import wabtFactory from 'wabt';
import { limitMemory } from '../../src/proplet/memory-limit.ts';
import { runWasm } from '../../src/proplet/run-wasm.ts';
import { readModuleInfo } from '../../src/proplet/wasm-module-info.ts';

const MiB = 1024 * 1024;
const example = (name: string) => readFileSync(new URL(`../../examples/${name}.wasm`, import.meta.url));

async function wat(source: string): Promise<Uint8Array> {
  const wabt = await wabtFactory();
  const module = wabt.parseWat('test.wat', source);
  try {
    return module.toBinary({}).buffer;
  } finally {
    module.destroy();
  }
}

const run = (wasm: Uint8Array, name: string, inputs: string[] = [], maxMemoryBytes = 16 * MiB) =>
  runWasm({ wasm, name, inputs, env: {}, cliArgs: [], maxMemoryBytes });

describe('runWasm', () => {
  it('calls the named export with typed inputs and reports the first result as text', async () => {
    assert.equal(await run(example('add'), 'add', ['2', '3']), '5');
    assert.equal(await run(example('fib'), 'fib', ['90']), '2880067194370816120');
  });

  it('falls back to main, run and _start when the name is not exported', async () => {
    const wasm = await wat('(module (func (export "main") (result f64) (f64.const 2.5)))');
    assert.equal(await run(wasm, 'whatever'), '2.5');
  });

  it('runs a WASI command and gives its standard output', async () => {
    assert.equal(await run(example('hello-wasi'), 'hello'), 'Hello from WebAssembly!\n');
  });

  it('fails with the reason on a trap, a bad input, a wrong count or a missing export', async () => {
    await assert.rejects(run(example('trap'), 'trap'), /unreachable/);
    await assert.rejects(run(example('add'), 'add', ['1.5', '2']), /not a valid i32/);
    await assert.rejects(run(example('add'), 'add', ['1']), /takes 2 inputs, got 1/);
    await assert.rejects(run(example('loop'), 'nothing-here'), /exports no function 'nothing-here'/);
  });
});

describe('memory limit', () => {
  it('lets a module grow up to the limit and no further', async () => {
    assert.equal(await run(example('grow'), 'grow', ['8'], 1 * MiB), '1');
    assert.equal(await run(example('grow'), 'grow', ['100'], 1 * MiB), '-1');
  });

  it('refuses a module that starts with more memory than the limit', async () => {
    const wasm = await wat('(module (memory 64) (func (export "run")))');
    await assert.rejects(
      run(wasm, 'run', [], 1 * MiB),
      /needs 4096 KiB of memory, over this proplet's limit of 1024 KiB/,
    );
  });

  it('keeps a smaller declared maximum and leaves the rest of the module intact', async () => {
    const wasm = await wat(
      '(module (memory 1 2) (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))',
    );
    const limited = limitMemory(wasm, 16 * MiB);
    assert.deepEqual([...readModuleInfo(limited).exports.keys()], ['grow']);
    assert.equal(await run(wasm, 'grow', ['2']), '-1');
    assert.equal(await run(wasm, 'grow', ['1']), '1');
  });
});
