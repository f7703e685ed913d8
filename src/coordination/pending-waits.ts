import type { InvocationOutcome } from './invocation-mailbox.ts';

interface PendingWait {
  resolve(outcome: InvocationOutcome | undefined): void;
}

/**
 * The waits of one process, by invocation id: what both mailboxes demultiplex answers into. Each wait ends
 * once, with the answer, or undefined on timeout, abort or close.
 */
export class PendingWaits {
  private readonly waits = new Map<string, Set<PendingWait>>();

  get ids(): string[] {
    return [...this.waits.keys()];
  }

  get size(): number {
    return this.waits.size;
  }

  add(invocationId: string, timeoutMs: number, signal?: AbortSignal): Promise<InvocationOutcome | undefined> {
    return new Promise((resolve) => {
      if (signal?.aborted) {
        resolve(undefined);
        return;
      }
      const set = this.waits.get(invocationId) ?? new Set<PendingWait>();
      this.waits.set(invocationId, set);
      const finish = (outcome: InvocationOutcome | undefined) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        set.delete(wait);
        if (set.size === 0 && this.waits.get(invocationId) === set) this.waits.delete(invocationId);
        resolve(outcome);
      };
      const wait: PendingWait = { resolve: finish };
      const onAbort = () => finish(undefined);
      const timer = setTimeout(() => finish(undefined), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      set.add(wait);
    });
  }

  /** Ends the waits for `invocationId` with its answer; false when nobody here waits for it. */
  settle(invocationId: string, outcome: InvocationOutcome): boolean {
    const set = this.waits.get(invocationId);
    if (!set) return false;
    for (const wait of [...set]) wait.resolve(outcome);
    return true;
  }

  has(invocationId: string): boolean {
    return this.waits.has(invocationId);
  }

  endAll(): void {
    for (const set of [...this.waits.values()]) for (const wait of [...set]) wait.resolve(undefined);
  }
}
