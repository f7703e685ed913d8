import { Gauge, type Registry } from 'prom-client';
import { stateName, TaskState } from '../domain/task-state.ts';

/** Where the state gauges come from: the queues, Postgres and the liveness store. */
export interface StateSources {
  queueDepth(): Promise<ReadonlyArray<{ queue: string; counts: Readonly<Record<string, number>> }>>;
  /** Numeric task state → number of tasks in it (states without tasks may be absent). */
  tasksByState(): Promise<ReadonlyMap<number, number>>;
  propletsAlive(): Promise<number>;
}

export interface StateGaugeOptions {
  /** A reading younger than this is served again: several Prometheus servers, or a fast one, cost one read. */
  cacheMs?: number;
  /** A scrape waits this long for a source at most; a source that is down must not hang it. */
  timeoutMs?: number;
}

const DEFAULT_CACHE_MS = 1_000;
const DEFAULT_TIMEOUT_MS = 2_000;

/**
 * A value read when a scrape asks for it, at most once per `cacheMs`, and waited on for `timeoutMs` at
 * most. A read that is late is not started again meanwhile (a Redis that is down would pile up commands
 * otherwise); when it ends, its value serves the next scrape.
 */
class ScrapedValue<T> {
  private last?: { at: number; value: T };
  private inFlight?: Promise<T>;

  constructor(
    private readonly read: () => Promise<T>,
    private readonly cacheMs: number,
    private readonly timeoutMs: number,
  ) {}

  /** The value; undefined when the source failed or did not answer in time. */
  async get(): Promise<T | undefined> {
    if (this.last && Date.now() - this.last.at < this.cacheMs) return this.last.value;
    this.inFlight ??= this.read()
      .then((value) => {
        this.last = { at: Date.now(), value };
        return value;
      })
      .finally(() => {
        this.inFlight = undefined;
      });
    return within(this.inFlight, this.timeoutMs);
  }
}

function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      () => {
        clearTimeout(timer);
        resolve(undefined);
      },
    );
  });
}

const TASK_STATES = Object.values(TaskState);

/**
 * Gauges of the system's state, read when Prometheus scrapes rather than kept up to date by events: the
 * queues' job counts, tasks by state and live proplets. They describe the whole deployment, not this
 * process, so only api processes export them (see the README).
 */
export function registerStateGauges(
  registry: Registry,
  sources: StateSources,
  { cacheMs = DEFAULT_CACHE_MS, timeoutMs = DEFAULT_TIMEOUT_MS }: StateGaugeOptions = {},
): void {
  const queues = new ScrapedValue(() => sources.queueDepth(), cacheMs, timeoutMs);
  const tasks = new ScrapedValue(() => sources.tasksByState(), cacheMs, timeoutMs);
  const proplets = new ScrapedValue(() => sources.propletsAlive(), cacheMs, timeoutMs);

  new Gauge({
    name: 'propeller_queue_depth',
    help: 'Jobs in each queue, by queue and state (waiting, prioritized, active, delayed, waiting-children, failed, completed); completed and failed jobs are kept for a while only',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const { queue, counts } of (await queues.get()) ?? [])
        for (const [state, count] of Object.entries(counts)) this.set({ queue, state }, count);
    },
  });

  new Gauge({
    name: 'propeller_tasks',
    help: 'Tasks by state (pending, scheduled, running, completed, failed, skipped, interrupted), from Postgres',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const counts = await tasks.get();
      if (!counts) return;
      for (const state of TASK_STATES)
        this.set({ state: stateName(state).toLowerCase() }, counts.get(state) ?? 0);
    },
  });

  new Gauge({
    name: 'propeller_proplets_alive',
    help: 'Proplets alive now: registered, with a heartbeat younger than MANAGER_PROPLET_ALIVE_TIMEOUT',
    registers: [registry],
    async collect() {
      this.reset();
      const alive = await proplets.get();
      if (alive !== undefined) this.set(alive);
    },
  });

  new Gauge({
    name: 'propeller_metrics_source_up',
    help: 'Whether the last scrape could read a source of the state gauges in time (1) or not (0, and its series are left out): queues, tasks, proplets',
    labelNames: ['source'] as const,
    registers: [registry],
    async collect() {
      const [q, t, p] = await Promise.all([queues.get(), tasks.get(), proplets.get()]);
      this.set({ source: 'queues' }, q === undefined ? 0 : 1);
      this.set({ source: 'tasks' }, t === undefined ? 0 : 1);
      this.set({ source: 'proplets' }, p === undefined ? 0 : 1);
    },
  });
}
