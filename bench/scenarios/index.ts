import type { Scenario } from '../lib/scenario.ts';
import { httpTasks } from './http-tasks.ts';
import { rawBullmq } from './raw-bullmq.ts';
import { rawMqtt } from './raw-mqtt.ts';
import { rawPostgres } from './raw-postgres.ts';

/** In the order they run: the raw limits first, as the others' figures are ratios to them. */
export const SCENARIOS: readonly Scenario[] = [rawBullmq, rawMqtt, rawPostgres, httpTasks];
