import { readFileSync } from 'node:fs';
import { parse } from 'smol-toml';
import { z } from 'zod';

const managerSection = z
  .object({
    tenant_id: z.string().optional(),
    channel_id: z.string().optional(),
    entity_id: z.string().optional(),
    api_key: z.string().optional(),
  })
  .partial();

export type ManagerTomlSection = z.infer<typeof managerSection>;

/**
 * Reads the `[manager]` section of upstream's config.toml (written by `propeller-cli provision`).
 * A missing file is not an error: it only supplies identities the environment did not.
 */
export function readManagerToml(path: string): ManagerTomlSection {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  const parsed = managerSection.safeParse((parse(text) as Record<string, unknown>).manager ?? {});
  if (!parsed.success) throw new Error(`${path}: [manager] section is invalid: ${parsed.error.message}`);
  return parsed.data;
}
