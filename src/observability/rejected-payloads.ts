import type { Logger } from './logger.ts';
import { mqttMessagesRejected } from './metrics.ts';

/**
 * Why a message from a proplet topic was dropped. The first five are decided by the ingress on the payload
 * alone; the others by the workers, against what the manager knows.
 */
export const REJECTION_REASONS = {
  too_large: 'larger than any proplet sends (checked before it is parsed)',
  not_json: 'not JSON',
  too_deep: 'JSON nested deeper than any payload has',
  schema: "valid JSON that does not match the topic's payload",
  bad_id: 'a proplet, task or invocation id that is no sane identifier (task and invocation ids: UUIDs)',
  unknown_proplet: 'sent for a proplet the manager never registered (no discovery, no heartbeat)',
  unknown_task: 'a result or task sample for a task that does not exist (deleted, or never created)',
  not_holder:
    'a result for a task from a proplet that does not hold it (re-dispatched since, or not running)',
} as const;

export type RejectionReason = keyof typeof REJECTION_REASONS;

/**
 * Expected now and then (a result after a re-dispatch, or for a deleted task), so logged at info; the
 * others mean a broken or hostile publisher, so warn.
 */
const INFO_REASONS: ReadonlySet<RejectionReason> = new Set(['not_holder', 'unknown_task']);

/** One log line per topic and reason per interval, however many messages are dropped. */
const LOG_EVERY_MS = 10_000;

/**
 * Counts every dropped message in `propeller_mqtt_rejected_payloads_total{topic,reason}` and logs it, at
 * most once per topic and reason per interval (the next line says how many were dropped silently since), so
 * a flood of bad messages cannot flood the log. Details never include the payload: it may be large, or
 * carry what must not reach logs.
 */
export class RejectedPayloads {
  private readonly lastLogged = new Map<string, { at: number; silent: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly logEveryMs = LOG_EVERY_MS,
    private readonly now: () => number = Date.now,
  ) {}

  record(topic: string, reason: RejectionReason, detail: Record<string, unknown> = {}): void {
    mqttMessagesRejected.inc({ topic, reason });
    const key = `${topic}\u0000${reason}`;
    const now = this.now();
    const last = this.lastLogged.get(key);
    if (last && now - last.at < this.logEveryMs) {
      last.silent++;
      return;
    }
    this.lastLogged.set(key, { at: now, silent: 0 });
    const fields = {
      topic,
      reason,
      ...detail,
      ...(last && last.silent > 0 ? { droppedSilentlySince: last.silent } : {}),
    };
    if (INFO_REASONS.has(reason)) this.logger.info(fields, 'MQTT message dropped');
    else this.logger.warn(fields, 'MQTT payload rejected');
  }
}

/** An id as it may appear in a log line: a bad one may be huge or hold anything, so it is cut. */
export function shownId(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  return value.length > 64 ? `${value.slice(0, 64)}…` : value;
}
