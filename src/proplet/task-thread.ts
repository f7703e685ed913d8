import { parentPort, workerData } from 'node:worker_threads';
import { runWasm, type RunRequest } from './run-wasm.ts';

/**
 * Runs one task in a worker thread of its own, so the proplet can end it at once (terminate) and a task
 * that never yields cannot hold up the proplet's heartbeats.
 */
export type TaskOutcome = { ok: true; results: string } | { ok: false; error: string };

runWasm(workerData as RunRequest).then(
  (results) => parentPort!.postMessage({ ok: true, results } satisfies TaskOutcome),
  (error: unknown) =>
    parentPort!.postMessage({
      ok: false,
      error: error instanceof Error ? error.message : String(error),
    } satisfies TaskOutcome),
);
