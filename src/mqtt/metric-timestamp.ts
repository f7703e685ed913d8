import { z } from 'zod';

/** Postgres and JavaScript agree on every instant from 1970 to the year 9999; nothing else is a sample time. */
const LATEST_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

const rfc3339 = z.iso.datetime({ offset: true });

/** How Rust's serde writes a `SystemTime`, which is what the upstream proplet sends. */
const systemTime = z.object({
  secs_since_epoch: z.number().int().nonnegative(),
  nanos_since_epoch: z.number().int().nonnegative().lt(1_000_000_000),
});

/**
 * The time a metrics sample was taken, in milliseconds since the epoch: an RFC 3339 string (Go's time.Time)
 * or a Rust SystemTime object. Undefined when absent or unreadable, so the caller falls back to the receive
 * time: a sample with a bad clock is still worth keeping (upstream reads only the string form, and so always
 * falls back for its own proplets).
 */
export function parseMetricTimestamp(value: unknown): number | undefined {
  let ms: number | undefined;
  if (typeof value === 'string' && rfc3339.safeParse(value).success) {
    ms = Date.parse(value);
  } else {
    const parsed = systemTime.safeParse(value);
    if (parsed.success)
      ms = parsed.data.secs_since_epoch * 1_000 + Math.floor(parsed.data.nanos_since_epoch / 1_000_000);
  }
  return ms !== undefined && Number.isFinite(ms) && ms >= 0 && ms <= LATEST_MS ? ms : undefined;
}
