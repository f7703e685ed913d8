import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { runChecks } from './checks.ts';
import { gatherEvidence, unfinishedCount } from './evidence.ts';
import { FaultInjector } from './faults.ts';
import { healthy, request } from './http-client.ts';
import { LoadGenerator } from './load.ts';
import { HELP, parseOptions, type FaultSuiteOptions } from './options.ts';
import { startPrivateServices, type PrivateServices } from './private-services.ts';
import { PropletFleet } from './proplet-fleet.ts';
import { Random } from './random.ts';
import { measureRecovery } from './recovery.ts';
import { figuresOf, formatFigures, writeFigures } from './report.ts';
import { printPostMortem } from './post-mortem.ts';
import { ManagerSystem } from './system.ts';

/**
 * `npm run test:faults`: the manager as ten processes (two of every role) on private Postgres, Redis and
 * Mosquitto, simulated proplets as processes, thousands of tasks submitted while processes, proplets and
 * services are killed -9; then every task must have ended once, with the right result. Exits 1 when an
 * invariant fails.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const say = (line: string) => process.stdout.write(`faults: ${line}\n`);
/** Ten processes starting at once on two loaded cores have taken over a minute. */
const SETUP_WITHIN_MS = 180_000;

async function until(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1_000} s`);
    await sleep(200);
  }
}

/** What a process said about why it exited: its last line naming an error, else its last line. */
function lastLine(tail: string): string {
  const lines = tail.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('====='));
  const why = lines.findLast((line) => /error|could not|refused|fatal/i.test(line)) ?? lines.at(-1) ?? '';
  return why.trim().slice(0, 300);
}

const secondsSince = (from: number, to = Date.now()) => Math.round((to - from) / 1_000);

async function main(options: FaultSuiteOptions): Promise<number> {
  const suiteStart = Date.now();
  const root = mkdtempSync(join(tmpdir(), 'propeller-faults-'));
  // The postgres user runs Postgres in a directory under this one.
  chmodSync(root, 0o755);
  say(`seed ${options.seed}, ${options.tasks} tasks over ${options.loadSeconds} s; files in ${root}`);
  const random = new Random(options.seed);

  let services: PrivateServices | undefined;
  let system: ManagerSystem | undefined;
  let fleet: PropletFleet | undefined;
  let injector: FaultInjector | undefined;
  let cleaned: Promise<void> | undefined;
  const cleanUp = () =>
    (cleaned ??= (async () => {
      await injector?.stop().catch(() => undefined);
      await fleet?.close().catch(() => undefined);
      await system?.close().catch(() => undefined);
      await services?.close().catch(() => undefined);
      if (options.keep) say(`files kept in ${root}`);
      else rmSync(root, { recursive: true, force: true });
    })());
  const interrupted = (signal: NodeJS.Signals) => {
    say(`${signal}: cleaning up`);
    void cleanUp().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);

  try {
    services = await startPrivateServices(root);
    say(
      `postgres :${services.postgres.port}, redis :${services.redis.port}, mosquitto :${services.mosquitto.port}`,
    );
    system = await ManagerSystem.create(root, services, random.fork(), options.managerLogLevel);
    await system.startAll();
    await system.waitAllReady(SETUP_WITHIN_MS);
    const apis = system.apiUrls;
    await until(
      'both apis healthy',
      async () => (await Promise.all(apis.map(healthy))).every(Boolean),
      30_000,
    );

    fleet = new PropletFleet(root, options.proplets, {
      mqttUrl: services.mosquitto.url,
      tenantId: system.tenantId,
      channelId: system.channelId,
      seed: options.seed,
    });
    fleet.startAll();
    await until(
      `${options.proplets} proplets alive`,
      async () =>
        (await request(apis[0]!, 'GET', '/proplets?status=active')).body?.total === options.proplets,
      SETUP_WITHIN_MS,
    );
    const setupSeconds = secondsSince(suiteStart);
    say(
      `${system.instances.length} manager processes and ${options.proplets} proplets up in ${setupSeconds} s; load and faults begin`,
    );

    const loadStart = Date.now();
    const load = new LoadGenerator(
      apis,
      {
        tasks: options.tasks,
        seconds: options.loadSeconds,
        concurrency: options.concurrency,
        taskTimeoutSeconds: options.taskTimeoutSeconds,
        deadline: loadStart + (options.loadSeconds + 180) * 1_000,
      },
      random.fork(),
      `f${options.seed}`,
    );
    injector = new FaultInjector(system, services, fleet, random.fork());
    // The plan ends well before the load does: a fault that waits for a slow restart (of a sibling) must
    // still come while tasks are being submitted.
    injector.start(loadStart + 3_000, loadStart + options.loadSeconds * 0.85 * 1_000);
    const connection = services.postgres.connection;
    const progress = setInterval(() => {
      void unfinishedCount(connection).then(
        (unfinished) =>
          say(
            `${secondsSince(loadStart)} s: ${load.submitted}/${options.tasks} submitted, ${unfinished} unfinished, ${injector!.records.length} faults`,
          ),
        () =>
          say(
            `${secondsSince(loadStart)} s: ${load.submitted}/${options.tasks} submitted, postgres away, ${injector!.records.length} faults`,
          ),
      );
    }, 10_000);
    const loadFigures = await load.run().finally(() => clearInterval(progress));
    await injector.stop();
    const loadSeconds = secondsSince(loadStart);
    say(
      `load done in ${loadSeconds} s, ${injector.records.length} faults; waiting for everything to be back`,
    );

    const drainStart = Date.now();
    fleet.restartStopped();
    await system.waitAllReady(120_000);
    await until(
      'both apis healthy',
      async () => (await Promise.all(apis.map(healthy))).every(Boolean),
      60_000,
    );
    let unfinished = Number.NaN;
    for (const deadline = Date.now() + options.drainSeconds * 1_000; Date.now() < deadline;) {
      unfinished = await unfinishedCount(connection).catch(() => Number.NaN);
      if (unfinished === 0) break;
      await sleep(500);
    }
    const drainSeconds = secondsSince(drainStart);
    say(
      unfinished === 0
        ? `every task ended ${drainSeconds} s after the load`
        : `${unfinished} tasks still unfinished ${drainSeconds} s after the load`,
    );

    const evidence = await gatherEvidence(
      connection,
      fleet.proplets.map((proplet) => proplet.eventLog),
    );
    const exits = [
      ...system.unexpectedExits,
      ...fleet.unexpectedExits.map((exit) => ({
        ...exit,
        instance: exit.proplet,
        whileStarting: false,
        tail: '',
      })),
    ];
    const outcome = runChecks(loadFigures, evidence, {
      skippedFaults: injector.skipped,
      crashes: exits
        .filter((exit) => !exit.whileStarting)
        .map(
          (exit) =>
            `${exit.instance} exited (code ${exit.code}, signal ${exit.signal}): ${lastLine(exit.tail)}`,
        ),
    });
    const recovery = measureRecovery(injector.records, evidence, loadStart);
    const figures = figuresOf({
      options,
      outcome,
      load: loadFigures,
      recovery,
      unexpectedExits: exits.map((exit) => ({
        process: exit.instance,
        atS: Math.round((exit.at - loadStart) / 100) / 10,
        whileStarting: exit.whileStarting,
        code: exit.code,
        signal: exit.signal,
        said: lastLine(exit.tail),
      })),
      seconds: {
        total: secondsSince(suiteStart),
        setup: setupSeconds,
        load: loadSeconds,
        drain: drainSeconds,
      },
    });
    const passed = figures.passed;
    process.stdout.write(`\n${formatFigures(figures)}\n`);
    if (!passed) printPostMortem({ system, services, fleet, exits, checks: outcome.checks });
    if (options.resultsFile !== '') {
      const path = resolve(ROOT, options.resultsFile);
      writeFigures(path, figures);
      say(`figures written to ${path}`);
    }
    return passed ? 0 : 1;
  } catch (error) {
    process.stderr.write(`faults: the suite could not run: ${(error as Error).stack ?? String(error)}\n`);
    if (system && services)
      printPostMortem({ system, services, fleet, exits: system.unexpectedExits, checks: [] });
    return 1;
  } finally {
    await cleanUp();
  }
}

let options: FaultSuiteOptions | 'help';
try {
  options = parseOptions(process.argv.slice(2), process.env);
} catch (error) {
  process.stderr.write(`faults: ${(error as Error).message}\n${HELP}\n`);
  process.exit(2);
}
if (options === 'help') {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
main(options).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`faults: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
