import type { QueueConnection } from './queue-connection.ts';

/** A queue's connection did not become ready in time: nothing was sent to the store. */
export class QueueNotReadyError extends Error {
  override name = 'QueueNotReadyError';
  constructor(
    readonly queue: string,
    /** Where the queue lives, so the client can be told which dependency is away. */
    readonly store: QueueConnection['store'],
    withinMs: number,
  ) {
    super(`queue ${queue} not ready within ${withinMs} ms`);
  }
}
