import { mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { evaluate, type ScenarioOutcome } from './lib/figures.ts';
import { describeMachine, gitState } from './lib/machine.ts';
import { ManagerSystem } from './lib/manager-system.ts';
import { HELP, parseOptions, type BenchOptions } from './lib/options.ts';
import { processUsage } from './lib/process-usage.ts';
import { runKind, writeResults, type BenchResults } from './lib/results-file.ts';
import type { ScenarioContext } from './lib/scenario.ts';
import { formatTable } from './lib/table.ts';
import { SCENARIOS } from './scenarios/index.ts';

/**
 * `npm run bench`: the scenarios of issue 8, each against a manager (and services' state) of its own, then
 * one table of figures against their targets and raw limits, and the same as JSON under bench/results/.
 * Exits 1 when a scenario broke (an error, lost or stuck tasks, wrong results), never for a missed target.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS = fileURLToPath(new URL('results/', import.meta.url));
const say = (line: string) => process.stdout.write(`bench: ${line}\n`);
const names = SCENARIOS.map((scenario) => scenario.name);

type CleanUp = () => Promise<void> | void;
/** The running scenario's clean-ups, for an interruption to run too. */
let scenarioCleanUps: CleanUp[] = [];

async function runAll(cleanUps: CleanUp[], options: BenchOptions): Promise<ScenarioOutcome[]> {
  const nodeArgs = (process.env.BENCH_MANAGER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  if (options.profile) {
    const directory = `${RESULTS}profiles/${new Date().toISOString().replace(/[:.]/g, '-')}`;
    mkdirSync(directory, { recursive: true });
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${directory}`);
    say(`CPU profiles of the manager processes go to ${directory}`);
  }
  let longLived: Promise<ManagerSystem> | undefined;
  let peakRssMiB = 0;
  const longLivedUsers: string[] = [];
  const outcomes: ScenarioOutcome[] = [];
  for (const scenario of SCENARIOS.filter((candidate) => options.only.includes(candidate.name))) {
    scenarioCleanUps = [];
    const context: ScenarioContext = {
      quick: options.quick,
      scale: options.scale,
      nodeArgs,
      size: (full, quick) => Math.max(1, Math.round((options.quick ? quick : full) * options.scale)),
      say: (line) => say(`${scenario.name}: ${line}`),
      defer: (cleanUp) => scenarioCleanUps.push(cleanUp),
      deferToEnd: (cleanUp) => cleanUps.push(cleanUp),
      longLivedManager: (env) => {
        if (!longLivedUsers.includes(scenario.name)) longLivedUsers.push(scenario.name);
        longLived ??= ManagerSystem.start({ layout: 'all-in-one', nodeArgs, env }).then((system) => {
          cleanUps.push(() => system.stop());
          const sampler = setInterval(() => {
            for (const pid of system.pids) peakRssMiB = Math.max(peakRssMiB, processUsage(pid).rssMiB);
          }, 500);
          cleanUps.push(() => clearInterval(sampler));
          return system;
        });
        return longLived;
      },
      longLivedPeakRssMiB: () => peakRssMiB,
      longLivedUsers,
    };
    say(`${scenario.name}: ${scenario.summary}`);
    const began = performance.now();
    let outcome: ScenarioOutcome;
    try {
      const result = await scenario.run(context);
      const failures = result.failures ?? [];
      outcome = {
        name: scenario.name,
        status: result.status ?? (failures.length > 0 ? 'failed' : 'ok'),
        seconds: 0,
        figures: result.figures,
        failures,
        notes: result.notes ?? [],
        details: result.details ?? {},
      };
    } catch (error) {
      outcome = {
        name: scenario.name,
        status: 'failed',
        seconds: 0,
        figures: [],
        failures: [error instanceof Error ? (error.stack ?? error.message) : String(error)],
        notes: [],
        details: {},
      };
    }
    for (const cleanUp of scenarioCleanUps.splice(0).reverse()) {
      try {
        await cleanUp();
      } catch (error) {
        outcome.failures.push(`clean-up failed: ${error instanceof Error ? error.message : String(error)}`);
        outcome.status = 'failed';
      }
    }
    outcome.seconds = Math.round(performance.now() - began) / 1000;
    say(
      `${scenario.name}: ${outcome.status} in ${outcome.seconds} s${outcome.failures.length > 0 ? `\n  ${outcome.failures.join('\n  ')}` : ''}`,
    );
    outcomes.push(outcome);
  }
  return outcomes;
}

async function cleanUpAll(cleanUps: CleanUp[]): Promise<void> {
  for (const cleanUp of cleanUps.splice(0).reverse()) await Promise.resolve(cleanUp()).catch(() => undefined);
}

async function main(): Promise<number> {
  let options;
  try {
    options = parseOptions(process.argv.slice(2), names);
  } catch (error) {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n${HELP}\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(
      `${HELP}\nscenarios:\n${SCENARIOS.map((s) => `  ${s.name.padEnd(17)} ${s.summary}`).join('\n')}\n`,
    );
    return 0;
  }
  const kind = runKind(options, names);
  const machine = await describeMachine();
  const git = gitState(ROOT);
  say(
    `${kind} run of ${options.only.join(', ')}${options.scale === 1 ? '' : ` at scale ${options.scale}`}; commit ${git.commit.slice(0, 12)}${git.dirty ? ' (with uncommitted changes)' : ''}`,
  );
  say(
    `machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB; node ${machine.node}, postgres ${machine.postgres}, redis ${machine.redis}, ${machine.mosquitto}; load average ${machine.loadAverage.join(' ')}; broker: ${machine.broker}`,
  );
  const cleanUps: CleanUp[] = [];
  const interrupted = (signal: NodeJS.Signals) => {
    say(`${signal}: cleaning up`);
    void cleanUpAll(scenarioCleanUps)
      .then(() => cleanUpAll(cleanUps))
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  const began = performance.now();
  let outcomes: ScenarioOutcome[];
  try {
    outcomes = await runAll(cleanUps, options);
  } finally {
    await cleanUpAll(cleanUps);
  }
  const table = evaluate(outcomes);
  const passed = outcomes.every((outcome) => outcome.status !== 'failed');
  const loadAverageAtEnd = loadavg().map((load) => Math.round(load * 100) / 100);
  const results: BenchResults = {
    generatedAt: new Date().toISOString(),
    kind,
    options,
    git,
    machine: { ...machine, loadAverageAtEnd },
    passed,
    table,
    scenarios: outcomes,
  };
  process.stdout.write(`\n${formatTable(table)}\n\n`);
  for (const outcome of outcomes) {
    for (const note of outcome.notes) process.stdout.write(`  ${outcome.name}: ${note}\n`);
    if (outcome.status !== 'ok') process.stdout.write(`  ${outcome.name}: ${outcome.status.toUpperCase()}\n`);
    for (const failure of outcome.failures) process.stdout.write(`  ${outcome.name}: FAILURE: ${failure}\n`);
  }
  const written = writeResults(RESULTS, results);
  say(`results in ${written.map((path) => path.replace(ROOT, '')).join(' and ')}`);
  say(`load average at the end ${loadAverageAtEnd.join(' ')} (${machine.cores} cores)`);
  say(
    `${passed ? 'PASSED' : 'FAILED'} in ${Math.round((performance.now() - began) / 1000)} s (a missed target does not fail the run; breakage does)`,
  );
  return passed ? 0 : 1;
}

process.exitCode = await main();
