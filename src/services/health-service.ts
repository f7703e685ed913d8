export type DependencyCheck = () => Promise<unknown>;

export interface HealthReport {
  healthy: boolean;
  checks: Record<string, 'pass' | 'fail'>;
}

const CHECK_TIMEOUT_MS = 2_000;

function withTimeout(check: DependencyCheck): Promise<unknown> {
  return Promise.race([
    check(),
    new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS).unref()),
  ]);
}

/** Asks each dependency of this process whether it answers, all at once, each within a bounded time. */
export class HealthService {
  constructor(private readonly checks: Record<string, DependencyCheck>) {}

  async report(): Promise<HealthReport> {
    const names = Object.keys(this.checks);
    const outcomes = await Promise.allSettled(names.map((name) => withTimeout(this.checks[name]!)));
    const checks = Object.fromEntries(
      names.map((name, i) => [name, outcomes[i]!.status === 'fulfilled' ? 'pass' : 'fail'] as const),
    );
    return { healthy: Object.values(checks).every((status) => status === 'pass'), checks };
  }
}
