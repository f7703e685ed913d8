import { z } from 'zod';
import { parseDurationMs } from './duration.ts';

/** Zod types for environment variables, shared by the manager's and the proplet's configuration. */

function toDurationMs(text: string, ctx: z.RefinementCtx): number {
  const ms = parseDurationMs(text);
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({ code: 'custom', message: `expected a duration such as 25s, 4s or 10m, got '${text}'` });
    return z.NEVER;
  }
  return ms;
}

/** A Go-style duration (or bare seconds) in milliseconds, above zero. */
export const durationMs = (fallback: string) => z.string().default(fallback).transform(toDurationMs);

/** The same with no default: undefined while unset. */
export const optionalDurationMs = () =>
  z
    .string()
    .optional()
    .transform((text, ctx) => (text === undefined ? undefined : toDurationMs(text, ctx)));

const integerText = (min: number, max: number) =>
  z.string().transform((text, ctx) => {
    const value = Number(text);
    if (!/^\d+$/.test(text.trim()) || value < min || value > max) {
      ctx.addIssue({ code: 'custom', message: `expected an integer from ${min} to ${max}, got '${text}'` });
      return z.NEVER;
    }
    return value;
  });

export const integerIn = (fallback: number, min: number, max: number) =>
  z.string().default(String(fallback)).pipe(integerText(min, max));

/** An integer whose default depends on other settings: undefined when unset. */
export const optionalIntegerIn = (min: number, max: number) => integerText(min, max).optional();

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1_000,
  mb: 1_000_000,
  gb: 1_000_000_000,
  kib: 1_024,
  mib: 1_024 ** 2,
  gib: 1_024 ** 3,
};

/** Bytes of a size written as a byte count (`1048576`) or with a unit (`512KiB`, `10MiB`, `1GB`); undefined when unreadable. */
export function parseByteSize(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = match ? SIZE_UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) return undefined;
  const bytes = Math.floor(Number(match[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** A size for people: `10 MiB`, `512 KiB`, `1000 bytes` (binary units, when the size is a whole number of them). */
export function formatByteSize(bytes: number): string {
  for (const [unit, size] of [
    ['GiB', 1_024 ** 3],
    ['MiB', 1_024 ** 2],
    ['KiB', 1_024],
  ] as const)
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  return `${bytes} bytes`;
}

/** A size in bytes, from `min` to `max`: a byte count, or a number with a unit such as 512KiB or 10MiB. */
export const byteSize = (fallback: string, min: number, max: number) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const bytes = parseByteSize(text);
      if (bytes === undefined || bytes < min || bytes > max) {
        ctx.addIssue({
          code: 'custom',
          message: `expected a size from ${min} to ${max} bytes, such as 512KiB, 10MiB or 1GiB, got '${text}'`,
        });
        return z.NEVER;
      }
      return bytes;
    });

/** A broker address, without a default. */
export const brokerAddress = z
  .string()
  .refine((text) => /^(tcp|mqtt|ssl|tls|mqtts|ws|wss):\/\/[^/\s]+/.test(text), {
    message: 'expected a broker address such as tcp://localhost:1883',
  });

export const mqttAddress = brokerAddress.default('tcp://localhost:1883');

export const mqttQos = z
  .enum(['0', '1', '2'])
  .default('1')
  .transform(Number)
  .pipe(z.union([z.literal(0), z.literal(1), z.literal(2)]));

/** true or false, as upstream writes its switches. */
export const flag = (fallback: boolean) =>
  z
    .enum(['true', 'false'])
    .default(fallback ? 'true' : 'false')
    .transform((text) => text === 'true');

/** A port, `0` for any free one, or `off` for none. */
export const optionalPort = (fallback: number | 'off') =>
  z
    .string()
    .default(String(fallback))
    .transform((text, ctx) => {
      if (text.trim() === 'off') return undefined;
      const value = Number(text);
      if (!/^\d+$/.test(text.trim()) || value > 65535) {
        ctx.addIssue({ code: 'custom', message: `expected a port from 0 to 65535, or off, got '${text}'` });
        return z.NEVER;
      }
      return value;
    });

/** A fraction from 0 to 1, such as a sampling ratio. */
export const ratio = (fallback: number) =>
  z
    .string()
    .default(String(fallback))
    .transform((text, ctx) => {
      const value = Number(text);
      if (text.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1) {
        ctx.addIssue({ code: 'custom', message: `expected a number from 0 to 1, got '${text}'` });
        return z.NEVER;
      }
      return value;
    });

/** The path of a file (a PEM certificate or key, say), read and checked once the environment parses. */
export const filePath = z.string().trim().min(1, 'must not be empty').optional();

const RATE_PERIODS_MS = { s: 1_000, m: 60_000, h: 3_600_000 } as const;
const MAX_RATE = 1_000_000_000;

/** `off` (the default) or `<n>/<s|m|h>`: at most n requests per period, in bursts of up to n. */
export const rateLimit = z
  .string()
  .default('off')
  .transform((text, ctx) => {
    const trimmed = text.trim();
    if (trimmed === 'off') return undefined;
    const match = /^(\d+)\/([smh])$/.exec(trimmed);
    const limit = Number(match?.[1]);
    if (!match || limit < 1 || limit > MAX_RATE) {
      ctx.addIssue({
        code: 'custom',
        message: `expected off or <n>/<s|m|h> (n from 1 to ${MAX_RATE}), such as 100/s or 6000/m, got '${text}'`,
      });
      return z.NEVER;
    }
    return { limit, periodMs: RATE_PERIODS_MS[match[2] as keyof typeof RATE_PERIODS_MS], text: trimmed };
  });

/** An http:// or https:// URL, without a default. */
export const httpUrl = z.string().refine((text) => /^https?:\/\/[^/\s]+/.test(text) && URL.canParse(text), {
  message: 'expected an http:// or https:// URL such as http://jaeger:4318',
});

export const logLevel = z
  .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
  .default('info');

/** mqtt.js speaks mqtt:// and mqtts://; upstream configuration says tcp://, ssl:// or tls://. */
export function toMqttUrl(address: string): string {
  return address.replace(/^tcp:\/\//, 'mqtt://').replace(/^(ssl|tls):\/\//, 'mqtts://');
}

/** As upstream does, an empty variable counts as unset: its default applies. */
export function withoutEmpty(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter(
      (entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== '',
    ),
  );
}
