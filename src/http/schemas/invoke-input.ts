import { z } from 'zod';
import { environment, inputs } from './task-input.ts';

/** POST /tasks/{id}/invoke (spec §1.5.5): inputs and env as a task takes them. */
export const invokeBody = z.object({
  inputs: inputs.describe("Arguments of this run; absent, the task's own inputs"),
  env: environment.describe('Environment variables of this run'),
});
