// Worker threads do not inherit the tsx loader on Node 20: register it in the thread, then load the task
// thread's TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./task-thread.ts');
