import { z } from 'zod';

/** POST /tasks/{id}/invoke (spec §1.5.5): inputs as strings or numbers (kept as text), env as strings. */
export const invokeBody = z.object({
  inputs: z
    .array(z.union([z.string(), z.number().finite().transform(String)]), {
      message: 'must be a list of strings or numbers',
    })
    .nullish()
    .describe("Arguments of this run; absent, the task's own inputs"),
  env: z
    .record(z.string(), z.string(), { message: 'must map names to string values' })
    .nullish()
    .describe('Environment variables of this run'),
});
