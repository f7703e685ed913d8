import { z } from 'zod';
import type { MonitoringProfile } from '../../domain/task.ts';

/** The Rust proplet's built-in profile for standard tasks; missing fields are taken from it. */
const STANDARD_PROFILE: MonitoringProfile = {
  enabled: true,
  interval: 10,
  collect_cpu: true,
  collect_memory: true,
  collect_disk_io: true,
  collect_threads: true,
  collect_file_descriptors: true,
  export_to_mqtt: true,
  retain_history: true,
  history_size: 100,
};

/** Go clients send a time.Duration (nanoseconds); proplets read seconds. No sane interval reaches a million seconds. */
const NANOSECONDS_THRESHOLD = 1_000_000;

/**
 * Accepts a partial profile and completes it, because the Rust proplet rejects the whole start message when
 * a single field is missing (spec §3.3.1).
 */
export const monitoringProfileInput = z
  .object({
    enabled: z.boolean().optional(),
    interval: z.number().nonnegative().optional(),
    collect_cpu: z.boolean().optional(),
    collect_memory: z.boolean().optional(),
    collect_disk_io: z.boolean().optional(),
    collect_threads: z.boolean().optional(),
    collect_file_descriptors: z.boolean().optional(),
    export_to_mqtt: z.boolean().optional(),
    retain_history: z.boolean().optional(),
    history_size: z.number().int().nonnegative().optional(),
  })
  .transform((profile): MonitoringProfile => {
    const complete = {
      ...STANDARD_PROFILE,
      ...Object.fromEntries(Object.entries(profile).filter(([, v]) => v !== undefined)),
    };
    const seconds = complete.interval >= NANOSECONDS_THRESHOLD ? complete.interval / 1e9 : complete.interval;
    // The Rust proplet decodes a whole number of seconds (u64): a fraction would make it drop the start.
    complete.interval = Math.max(1, Math.round(seconds));
    return complete;
  });
