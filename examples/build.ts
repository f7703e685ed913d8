/**
 * Builds every examples/*.wat into examples/*.wasm with wabt (from npm), so anyone can rebuild them:
 *   npm run examples:build
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import wabtFactory from 'wabt';

const dir = new URL('.', import.meta.url).pathname;
const wabt = await wabtFactory();
for (const file of readdirSync(dir).filter((name) => name.endsWith('.wat'))) {
  const module = wabt.parseWat(file, readFileSync(join(dir, file), 'utf8'));
  const { buffer } = module.toBinary({});
  writeFileSync(join(dir, file.replace(/\.wat$/, '.wasm')), buffer);
  module.destroy();
  console.log(`built ${file.replace(/\.wat$/, '.wasm')} (${buffer.length} bytes)`);
}
