// Worker threads do not inherit the tsx loader on Node 20: register it in the thread, then load the task
// thread's TypeScript.
import { register } from 'tsx/esm/api';

// node:wasi warns that it is experimental on every first use; one line per task run is noise in the logs.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name !== 'ExperimentalWarning') process.stderr.write(`${warning.name}: ${warning.message}\n`);
});

register();
await import('./task-thread.ts');
