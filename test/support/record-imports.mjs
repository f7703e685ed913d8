// `node --import ./test/support/record-imports.mjs …` writes every module the process resolves to the file
// named by IMPORT_LOG (see import-recorder-hooks.mjs).
import { register } from 'node:module';

register('./import-recorder-hooks.mjs', import.meta.url, { data: { file: process.env.IMPORT_LOG } });
