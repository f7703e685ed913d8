/** Upstream's default, and what a priority of 0 ("not set") means. */
export const DEFAULT_PRIORITY = 50;
export const MAX_PRIORITY = 100;

/**
 * A task's priority (0–100, higher first) as a BullMQ job priority (1 is taken first). Never 0: BullMQ
 * takes jobs without a priority before all prioritised ones, so every start carries one.
 */
export function queuePriority(priority: number): number {
  const effective = priority > 0 ? Math.min(Math.round(priority), MAX_PRIORITY) : DEFAULT_PRIORITY;
  return MAX_PRIORITY + 1 - effective;
}
