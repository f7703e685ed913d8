import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  customType,
  index,
  integer,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import type { MonitoringProfile } from '../domain/task.ts';

const bytea = customType<{ data: Buffer; driverData: Buffer }>({
  dataType: () => 'bytea',
});

/**
 * drizzle's own jsonb parses again what node-postgres already parsed, so a JSON string such as "5" (the
 * result of an `add` task) would come back as the number 5. This one keeps the driver's value.
 */
function jsonb<T>(name: string) {
  return customType<{ data: T; driverData: unknown }>({
    dataType: () => 'jsonb',
    toDriver: (value) => JSON.stringify(value),
    fromDriver: (value) => value as T,
  })(name);
}

const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const tasks = pgTable(
  'tasks',
  {
    id: uuid('id').primaryKey(),
    name: text('name').notNull(),
    kind: text('kind').notNull().default('standard'),
    state: smallint('state').notNull().default(0),
    imageUrl: text('image_url'),
    file: bytea('file'),
    cliArgs: jsonb<string[]>('cli_args'),
    inputs: jsonb<string[]>('inputs'),
    env: jsonb<Record<string, string>>('env'),
    daemon: boolean('daemon').notNull().default(false),
    latent: boolean('latent').notNull().default(false),
    encrypted: boolean('encrypted').notNull().default(false),
    kbsResourcePath: text('kbs_resource_path'),
    requestedPropletId: text('requested_proplet_id'),
    propletId: text('proplet_id'),
    dependsOn: jsonb<string[]>('depends_on'),
    runIf: text('run_if'),
    workflowId: uuid('workflow_id'),
    jobId: uuid('job_id'),
    results: jsonb<unknown>('results'),
    error: text('error'),
    monitoringProfile: jsonb<MonitoringProfile>('monitoring_profile'),
    mode: text('mode'),
    schedule: text('schedule'),
    isRecurring: boolean('is_recurring').notNull().default(false),
    timezone: text('timezone'),
    nextRun: timestamptz('next_run'),
    broadcast: boolean('broadcast').notNull().default(false),
    priority: smallint('priority').notNull().default(50),
    metadata: jsonb<Record<string, unknown>>('metadata'),
    halStoragePath: text('hal_storage_path'),
    /** Seconds a run may take before the manager stops it; null: MANAGER_TASK_TIMEOUT, or no limit. */
    timeoutSeconds: integer('timeout_seconds'),
    /**
     * Runs after the first that an infrastructure failure (or, with retryOnError, a Wasm error) may cost;
     * null: MANAGER_TASK_MAX_RETRIES, read when a run fails, so changing it reaches tasks already created.
     */
    maxRetries: integer('max_retries'),
    /** An error reported by the Wasm itself is retried too, not only lost proplets and timeouts. */
    retryOnError: boolean('retry_on_error').notNull().default(false),
    /** Retries spent since the task was last started by a user (or a cron tick, or its workflow). */
    retries: integer('retries').notNull().default(0),
    /** Place in the list of the workflow or job it was created with: the order of sequential jobs. */
    position: integer('position'),
    /** Bumped by every start; start jobs carry it, so a stale job can never dispatch a newer run. */
    attempt: integer('attempt').notNull().default(0),
    scheduledAt: timestamptz('scheduled_at'),
    startTime: timestamptz('start_time'),
    finishTime: timestamptz('finish_time'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (table) => [
    index('idx_tasks_state').on(table.state),
    index('idx_tasks_proplet_id').on(table.propletId),
    index('idx_tasks_created_at').on(table.createdAt.desc(), table.id),
    index('idx_tasks_workflow_id').on(table.workflowId),
    index('idx_tasks_job_id').on(table.jobId),
    index('idx_tasks_metadata').using('gin', sql`${table.metadata} jsonb_path_ops`),
  ],
);

export const proplets = pgTable('proplets', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  taskCount: integer('task_count').notNull().default(0),
  metadata: jsonb<Record<string, unknown>>('metadata').notNull().default({}),
  /** Persisted when liveness changes, not on every heartbeat: Redis holds the hot value. */
  lastAliveAt: timestamptz('last_alive_at'),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
  updatedAt: timestamptz('updated_at').notNull().defaultNow(),
});

/**
 * Which proplets hold which running task, one row each (a broadcast task has one per proplet it was sent
 * to); released when the task, or that proplet's share of a broadcast, reaches a terminal state.
 */
export const taskProplets = pgTable(
  'task_proplets',
  {
    taskId: uuid('task_id')
      .notNull()
      .references(() => tasks.id, { onDelete: 'cascade' }),
    propletId: text('proplet_id')
      .notNull()
      .references(() => proplets.id, { onDelete: 'cascade' }),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ columns: [table.taskId, table.propletId] }),
    index('idx_task_proplets_proplet_id').on(table.propletId),
  ],
);

/**
 * Every run of a task: one row per attempt and proplet (a broadcast run has one per proplet), written when
 * the run is dispatched and closed, with its outcome, when it ends. What GET /tasks/{id}/attempts shows.
 */
export const taskAttempts = pgTable(
  'task_attempts',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    taskId: uuid('task_id')
      .notNull()
      .references(() => tasks.id, { onDelete: 'cascade' }),
    attempt: integer('attempt').notNull(),
    propletId: text('proplet_id').notNull(),
    startedAt: timestamptz('started_at').notNull(),
    finishedAt: timestamptz('finished_at'),
    /** running, completed, failed, timed_out, proplet_lost, stopped (see src/domain/task-attempt.ts). */
    outcome: text('outcome').notNull().default('running'),
    error: text('error'),
  },
  (table) => [uniqueIndex('idx_task_attempts_run').on(table.taskId, table.attempt, table.propletId)],
);

/** A job created by POST /jobs (or named by a task's job_id); its tasks point to it by job_id. */
export const jobs = pgTable('jobs', {
  id: uuid('id').primaryKey(),
  name: text('name').notNull().default(''),
  executionMode: text('execution_mode').notNull(),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
  updatedAt: timestamptz('updated_at').notNull().defaultNow(),
});

/*
 * Metrics samples published by proplets, kept for a bounded time and number per owner (the metrics
 * service prunes them). No foreign keys: upstream accepts samples for tasks and proplets it does not know.
 */
export const taskMetrics = pgTable(
  'task_metrics',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    taskId: uuid('task_id').notNull(),
    propletId: text('proplet_id').notNull(),
    metrics: jsonb<Record<string, unknown>>('metrics').notNull(),
    aggregated: jsonb<Record<string, unknown>>('aggregated'),
    timestamp: timestamptz('timestamp').notNull(),
  },
  (table) => [
    index('idx_task_metrics_task_id_timestamp').on(table.taskId, table.timestamp.desc()),
    index('idx_task_metrics_timestamp').on(table.timestamp),
  ],
);

export const propletMetrics = pgTable(
  'proplet_metrics',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    propletId: text('proplet_id').notNull(),
    namespace: text('namespace').notNull().default(''),
    cpuMetrics: jsonb<Record<string, unknown>>('cpu_metrics').notNull(),
    memoryMetrics: jsonb<Record<string, unknown>>('memory_metrics').notNull(),
    timestamp: timestamptz('timestamp').notNull(),
  },
  (table) => [
    index('idx_proplet_metrics_proplet_id_timestamp').on(table.propletId, table.timestamp.desc()),
    index('idx_proplet_metrics_timestamp').on(table.timestamp),
  ],
);

/*
 * Coordination state shared by every manager process when there is no Redis (src/db/postgres-*.ts); with
 * Redis these tables stay empty. Times are milliseconds since the epoch as the callers pass them, never the
 * database clock, so both stores judge liveness and leases alike. The names keep clear of the tables of
 * BullMQ's Postgres backend, which may share the public schema.
 */

const ms = (name: string) => bigint(name, { mode: 'number' });

/**
 * One row per proplet the liveness store knows of. Heartbeats rewrite it in place, so it has no index but
 * its primary key: an index on a beat column would make every heartbeat update an index too (and rule out
 * HOT updates).
 */
export const propletLiveness = pgTable('proplet_liveness', {
  id: text('id').primaryKey(),
  /** Newest heartbeat ever accepted (null when only a last will or a registration was seen). */
  lastBeatMs: ms('last_beat_ms'),
  /** In the rotation: came alive and was neither swept nor sent offline since. */
  alive: boolean('alive').notNull().default(false),
  /** Newest heartbeat recent enough to count while alive; kept after death so a sweep can report it. */
  aliveBeatMs: ms('alive_beat_ms'),
  /** The pending last will: heartbeats up to this time are ignored; the next newer one clears it. */
  offlineAtMs: ms('offline_at_ms'),
  /** The proplets row is confirmed to exist, so the proplet may be given work. */
  registered: boolean('registered').notNull().default(false),
  /** Accepted heartbeat times in arrival order, the newest ALIVE_HISTORY_LENGTH. */
  history: ms('history')
    .array()
    .notNull()
    .default(sql`'{}'`),
});

/** Named positions shared by all processes, such as the round-robin rotation's last pick. */
export const coordinationCursors = pgTable('coordination_cursors', {
  name: text('name').primaryKey(),
  value: text('value').notNull(),
});

/** Marks of runs stopped on a proplet that will still report on them (see coordination/stopped-runs.ts). */
export const stoppedRuns = pgTable(
  'stopped_runs',
  {
    propletId: text('proplet_id').notNull(),
    taskId: text('task_id').notNull(),
    expiresAtMs: ms('expires_at_ms').notNull(),
  },
  (table) => [primaryKey({ columns: [table.propletId, table.taskId] })],
);

/** Ingress slot leases; a row stays once its slot was used, so its broker session can be looked after. */
export const ingressSlots = pgTable('ingress_slots', {
  slot: integer('slot').primaryKey(),
  /** The holder; the slot is held while this is set and the lease has not lapsed. */
  token: text('token'),
  leaseUntilMs: ms('lease_until_ms').notNull().default(0),
  /** Taken by claimLowest and not retired since: its session may hold messages. */
  used: boolean('used').notNull().default(false),
});

/** Answers to invocations, waiting for the api process that asked (Postgres queue store only). */
export const invocationResults = pgTable('invocation_results', {
  invocationId: text('invocation_id').primaryKey(),
  outcome: jsonb<unknown>('outcome').notNull(),
  expiresAtMs: ms('expires_at_ms').notNull(),
});
