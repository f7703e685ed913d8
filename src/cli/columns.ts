import { field, stateField, type Column } from './table.ts';

/** The columns of each list in table output: what tells the rows apart at a glance. */

export const TASK_COLUMNS: readonly Column[] = [
  field('id'),
  field('name'),
  stateField(),
  field('proplet_id', 'PROPLET'),
  field('results'),
  field('created_at', 'CREATED'),
];

export const PROPLET_COLUMNS: readonly Column[] = [
  field('id'),
  field('name'),
  field('alive'),
  field('task_count', 'TASKS'),
  field('last_alive_at', 'LAST ALIVE'),
];

export const JOB_COLUMNS: readonly Column[] = [
  field('job_id', 'ID'),
  field('name'),
  field('execution_mode', 'MODE'),
  stateField(),
  { header: 'TASKS', value: (row) => (Array.isArray(row.tasks) ? row.tasks.length : undefined) },
  field('created_at', 'CREATED'),
];

export const TASK_METRICS_COLUMNS: readonly Column[] = [
  field('timestamp', 'TIME'),
  field('proplet_id', 'PROPLET'),
  field('metrics'),
];

export const PROPLET_METRICS_COLUMNS: readonly Column[] = [
  field('timestamp', 'TIME'),
  field('namespace'),
  field('cpu_metrics', 'CPU'),
  field('memory_metrics', 'MEMORY'),
];

export const ALIVE_COLUMNS: readonly Column[] = [{ header: 'HEARTBEAT', value: (row) => row.time }];
