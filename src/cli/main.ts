import { buildProgram } from './program.ts';
import { reportError } from './report-error.ts';

/** The `propeller` command (bin/propeller.mjs runs this file). */
try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  process.exitCode = reportError(error);
}
