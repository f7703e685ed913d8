import type { Scenario } from '../lib/scenario.ts';
import { batch } from './batch.ts';
import { dispatchLatency } from './dispatch-latency.ts';
import { e2eLatency } from './e2e-latency.ts';
import { fleet } from './fleet.ts';
import { httpTasks } from './http-tasks.ts';
import { memory } from './memory.ts';
import { rawBullmq } from './raw-bullmq.ts';
import { rawMqtt } from './raw-mqtt.ts';
import { rawPostgres } from './raw-postgres.ts';
import { storedTasks } from './stored-tasks.ts';

/**
 * In the order they run: the raw limits first, as the others' figures are ratios to them; memory last, after
 * fleet and stored-tasks have run against the manager it measures.
 */
export const SCENARIOS: readonly Scenario[] = [
  rawBullmq,
  rawMqtt,
  rawPostgres,
  httpTasks,
  batch,
  dispatchLatency,
  e2eLatency,
  fleet,
  storedTasks,
  memory,
];
