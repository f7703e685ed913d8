import { readFile } from 'node:fs/promises';
import { CliError } from './report-error.ts';

/** Reading the files options name, failures worded for the command line. */

export async function readBytes(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new CliError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

/** JSON given inline (`what` names the option in the error) or read from a file. */
export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new CliError(`${what} is not JSON: ${(error as Error).message}`, 2);
  }
}

export async function readJson(path: string, what: string): Promise<unknown> {
  return parseJson((await readBytes(path)).toString('utf8'), what);
}
