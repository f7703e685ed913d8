import { parseArgs } from 'node:util';

export interface BenchOptions {
  /** Small sizes: every scenario in under two minutes, to catch breakage (CI), not to judge speed. */
  quick: boolean;
  /** The scenarios to run, in the suite's order; all when --only is not given. */
  only: string[];
  /** Multiplies every scenario's size (task counts, durations, fleet size); 1 is the issue's sizes. */
  scale: number;
  /** CPU profiles of the manager processes (node --cpu-prof), written under bench/results/profiles/. */
  profile: boolean;
}

export const HELP = `npm run bench -- [options]
  --quick          every scenario at a small size (under 2 minutes): catches breakage, judges no speed
  --only a,b       run only these scenarios (names below), in the suite's order
  --scale F        multiply every scenario's size (counts, durations) by F (default 1; e.g. 0.5, 2)
  --profile        CPU profile of every manager process (node --cpu-prof) into bench/results/profiles/
  -h, --help       this text
BENCH_MANAGER_NODE_ARGS adds node options to every manager process.`;

/** The command line, checked: an unknown flag, scenario or a bad scale is an error naming it. */
export function parseOptions(argv: string[], scenarios: readonly string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean' },
      only: { type: 'string' },
      scale: { type: 'string' },
      profile: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  let only = [...scenarios];
  if (values.only !== undefined) {
    const named = values.only
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean);
    const unknown = named.filter((name) => !scenarios.includes(name));
    if (named.length === 0 || unknown.length > 0)
      throw new Error(
        `--only: unknown scenario ${unknown.map((name) => `'${name}'`).join(', ') || "''"}; expected some of ${scenarios.join(', ')}`,
      );
    only = scenarios.filter((name) => named.includes(name));
  }
  const scale = values.scale === undefined ? 1 : Number(values.scale);
  if (!Number.isFinite(scale) || scale <= 0 || scale > 100)
    throw new Error(`--scale: expected a number above 0 and at most 100, got '${values.scale}'`);
  return { quick: values.quick ?? false, only, scale, profile: values.profile ?? false };
}
