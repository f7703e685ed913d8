import { sql } from 'drizzle-orm';
import {
  ANSWER_TTL_MS,
  invocationOutcome,
  type InvocationMailbox,
  type InvocationOutcome,
} from '../coordination/invocation-mailbox.ts';
import { PendingWaits } from '../coordination/pending-waits.ts';
import type { Database } from './connection.ts';
import { invocationResults } from './schema.ts';

/** Often enough that an answer waits little; one query per tick serves every wait of the process. */
const POLL_MS = 50;

/**
 * Invocation answers in Postgres, for deployments without Redis: one row per answer, taken (deleted) by
 * its waiter. Waiters poll, since PGlite passes no NOTIFY between connections: one loop per process, one
 * query per tick for all its waits, and only while something waits. Lapsed rows nobody took are deleted
 * when a new answer is delivered.
 */
export class PostgresInvocationMailbox implements InvocationMailbox {
  private readonly waits = new PendingWaits();
  private timer?: NodeJS.Timeout;
  private polling?: Promise<void>;
  private closed = false;

  constructor(
    private readonly db: Database,
    private readonly ttlMs = ANSWER_TTL_MS,
    private readonly pollMs = POLL_MS,
  ) {}

  async deliver(invocationId: string, outcome: InvocationOutcome): Promise<void> {
    const now = Date.now();
    await this.db.execute(sql`
      WITH lapsed AS (
        DELETE FROM ${invocationResults}
        WHERE expires_at_ms <= ${now}::bigint AND invocation_id <> ${invocationId}
      )
      INSERT INTO ${invocationResults} (invocation_id, outcome, expires_at_ms)
      VALUES (${invocationId}, ${JSON.stringify(outcome)}::jsonb, ${now + this.ttlMs}::bigint)
      ON CONFLICT (invocation_id) DO NOTHING`);
  }

  wait(
    invocationId: string,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<InvocationOutcome | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    const answer = this.waits.add(invocationId, timeoutMs, signal);
    this.schedule(0);
    return answer;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.waits.endAll();
    await this.polling;
  }

  private schedule(delayMs: number): void {
    if (this.closed || this.timer || this.polling) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.polling = this.poll().finally(() => {
        this.polling = undefined;
        if (this.waits.size > 0) this.schedule(this.pollMs);
      });
    }, delayMs);
  }

  private async poll(): Promise<void> {
    const ids = this.waits.ids;
    if (ids.length === 0) return;
    try {
      const { rows } = await this.db.execute<{ invocation_id: string; outcome: unknown }>(sql`
        DELETE FROM ${invocationResults}
        WHERE invocation_id IN (${sql.join(
          ids.map((id) => sql`${id}`),
          sql`, `,
        )}) AND expires_at_ms > ${Date.now()}::bigint
        RETURNING invocation_id, outcome`);
      for (const row of rows) {
        const parsed = invocationOutcome.safeParse(row.outcome);
        if (parsed.success) this.waits.settle(row.invocation_id, parsed.data);
      }
    } catch {
      // Postgres away for a moment: the next tick asks again, and the waits time out meanwhile if need be.
    }
  }
}
