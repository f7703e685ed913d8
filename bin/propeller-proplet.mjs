#!/usr/bin/env node
// Runs the reference proplet from its TypeScript sources, with tsx as the loader (so that the task threads
// it starts load TypeScript too), and passes signals on.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const loader = import.meta.resolve('tsx');
const main = fileURLToPath(new URL('../src/proplet/main.ts', import.meta.url));
const child = spawn(process.execPath, ['--import', loader, main], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
