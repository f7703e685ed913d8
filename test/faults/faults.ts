import { setTimeout as sleep } from 'node:timers/promises';
import { aliveProplets, dependencyChecks } from './http-client.ts';
import type { PrivateService, PrivateServices } from './private-services.ts';
import type { PropletFleet } from './proplet-fleet.ts';
import type { Random } from './random.ts';
import { ROLES, type ManagerSystem, type Role, type RoleInstance } from './system.ts';

export type FaultKind = Role | 'schedulers-both' | 'proplet' | PrivateService['name'];

export const FAULT_KINDS: readonly FaultKind[] = [
  ...ROLES,
  'schedulers-both',
  'proplet',
  'postgres',
  'redis',
  'mosquitto',
];

/** One fault as it happened; times in ms since the epoch. */
export interface FaultRecord {
  kind: FaultKind;
  /** Which instance, proplet or service. */
  target: string;
  at: number;
  /** When what was killed was back: service restarted, proplet started again, manager process ready. */
  backAt?: number;
  /** For service faults: when /health passed again on both apis. */
  healthBackAt?: number;
  /** For proplet kills: the runs it had begun and not reported, lost with it. */
  lostRuns?: string[];
}

type Planned =
  | { kind: Role; instance: RoleInstance }
  | { kind: 'schedulers-both' }
  | { kind: 'proplet' }
  | { kind: PrivateService['name'] };

/** The sibling of a killed instance may take this long to be ready before the kill goes ahead anyway. */
const SIBLING_WAIT_MS = 30_000;
/** Faults that fall behind their moments (a restart took long) still come at least this far apart. */
const MIN_GAP_MS = 1_500;
/** How long a proplet kill waits for a proplet with a run in progress, so that it is a kill mid-task. */
const BUSY_WAIT_MS = 3_000;

/**
 * Injects the faults of one seeded plan at random moments of the load period: a kill -9 of every manager
 * process (each instance once, one instance of a role at a time, plus once both schedulers together),
 * kills -9 of proplets mid-task, and a kill and restart of Postgres, Redis and Mosquitto (each down 2–5 s).
 * The service faults are spread over the period so that their recoveries can be told apart.
 */
export class FaultInjector {
  readonly records: FaultRecord[] = [];
  /** Planned faults the load ended before: a run that has any did not test everything it should. */
  readonly skipped: string[] = [];
  private readonly background = new Set<Promise<void>>();
  private stopping = false;
  /** Cuts short the wait for the next fault once the load is over. */
  private readonly stopped = new AbortController();
  private running?: Promise<void>;

  constructor(
    private readonly system: ManagerSystem,
    private readonly services: PrivateServices,
    private readonly fleet: PropletFleet,
    private readonly random: Random,
  ) {}

  private plan(propletKills: number): Planned[] {
    const others: Planned[] = [
      ...this.system.instances.map((instance) => ({ kind: instance.role, instance })),
      { kind: 'schedulers-both' },
      ...Array.from({ length: propletKills }, () => ({ kind: 'proplet' }) as const),
    ];
    const shuffled = this.random.shuffle(others);
    const services = this.random.shuffle<Planned>([
      { kind: 'postgres' },
      { kind: 'redis' },
      { kind: 'mosquitto' },
    ]);
    // Service faults at about a quarter, a half and three quarters of the way.
    const plan: Planned[] = [];
    const every = Math.ceil(shuffled.length / (services.length + 1));
    shuffled.forEach((fault, i) => {
      if (i > 0 && i % every === 0 && services.length > 0) plan.push(services.shift()!);
      plan.push(fault);
    });
    plan.push(...services);
    return plan;
  }

  /** Starts injecting over [fromMs, toMs] (ms since the epoch), in the background. */
  start(fromMs: number, toMs: number): void {
    const plan = this.plan(Math.max(4, this.fleet.proplets.length - 2));
    const slotMs = (toMs - fromMs) / plan.length;
    const times = plan.map((_, i) => fromMs + (i + this.random.between(0.15, 0.85)) * slotMs);
    this.running = (async () => {
      let last = 0;
      for (const [i, fault] of plan.entries()) {
        const wait = Math.max(times[i]!, last + MIN_GAP_MS) - Date.now();
        if (wait > 0) await sleep(wait, undefined, { signal: this.stopped.signal }).catch(() => undefined);
        if (this.stopping) {
          this.skipped.push(...plan.slice(i).map(describePlanned));
          return;
        }
        last = Date.now();
        await this.inject(fault);
      }
    })();
  }

  /** Ends the plan (what is under way finishes), and waits for what was killed to be back. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.stopped.abort();
    await this.running;
    await Promise.allSettled([...this.background]);
  }

  private later(work: Promise<void>): void {
    this.background.add(work);
    void work.finally(() => this.background.delete(work));
  }

  private async inject(fault: Planned): Promise<void> {
    switch (fault.kind) {
      case 'postgres':
      case 'redis':
      case 'mosquitto':
        return this.killService(this.services[fault.kind]);
      case 'proplet':
        return this.killProplet();
      case 'schedulers-both':
        return this.killInstances('schedulers-both', this.system.of('scheduler'));
      default: {
        // Never every instance of a role at once: its sibling must be back first.
        const sibling = this.system.of(fault.kind).find((other) => other !== fault.instance);
        if (sibling) await this.system.waitReady(sibling, SIBLING_WAIT_MS).catch(() => undefined);
        return this.killInstances(fault.kind, [fault.instance]);
      }
    }
  }

  private async killInstances(kind: FaultKind, instances: RoleInstance[]): Promise<void> {
    const record: FaultRecord = {
      kind,
      target: instances.map((instance) => instance.name).join('+'),
      at: Date.now(),
    };
    this.records.push(record);
    await this.system.killTogether(instances);
    this.later(
      Promise.all(instances.map((instance) => this.system.waitReady(instance))).then(
        () => void (record.backAt = Date.now()),
        () => undefined,
      ),
    );
  }

  /** A proplet with runs in progress, when there is one, is killed; it comes back 2–6 s later. */
  private async killProplet(): Promise<void> {
    const candidates = this.fleet.proplets.filter((proplet) => proplet.process.running);
    if (candidates.length <= 1) {
      this.skipped.push('proplet (no second proplet running)');
      return;
    }
    let busy: typeof candidates = [];
    for (const deadline = Date.now() + BUSY_WAIT_MS; busy.length === 0 && Date.now() < deadline;) {
      busy = candidates.filter((proplet) => this.fleet.openRuns(proplet).size > 0);
      if (busy.length === 0) await sleep(20);
    }
    const proplet = this.random.pick(busy.length > 0 ? busy : candidates);
    const record: FaultRecord = { kind: 'proplet', target: proplet.id, at: Date.now() };
    this.records.push(record);
    record.lostRuns = await this.fleet.kill(proplet);
    const downMs = this.random.between(2_000, 6_000);
    this.later(
      sleep(downMs).then(() => {
        this.fleet.restart(proplet);
        record.backAt = Date.now();
      }),
    );
  }

  /** Down for 2–5 s, then started again; its recovery is watched from both apis' /health. */
  private async killService(service: PrivateService): Promise<void> {
    const record: FaultRecord = { kind: service.name, target: service.name, at: Date.now() };
    this.records.push(record);
    await service.kill();
    await sleep(this.random.between(2_000, 5_000));
    await service.start();
    record.backAt = Date.now();
    this.later(this.watchHealth(record));
  }

  /**
   * Until an api's /health passes that dependency's check again (an api being restarted meanwhile does not
   * hold it up). /health does not look at the broker: for Mosquitto, until every proplet running is alive
   * again in the manager's eyes, which needs broker, ingress and liveness working.
   */
  private async watchHealth(record: FaultRecord): Promise<void> {
    const deadline = Date.now() + 120_000;
    const apis = this.system.apiUrls;
    const back = async () => {
      if (record.kind === 'mosquitto') {
        const running = this.fleet.proplets.filter((proplet) => proplet.process.running).map((p) => p.id);
        const alive = await aliveProplets(apis);
        return alive !== undefined && running.every((id) => alive.has(id));
      }
      const checks = await Promise.all(apis.map((url) => dependencyChecks(url)));
      return checks.some((check) => check?.[record.kind] === 'pass');
    };
    while (Date.now() < deadline) {
      if (await back().catch(() => false)) {
        record.healthBackAt = Date.now();
        return;
      }
      await sleep(100);
    }
  }
}

function describePlanned(fault: Planned): string {
  return 'instance' in fault ? `${fault.kind} ${fault.instance.name}` : fault.kind;
}
