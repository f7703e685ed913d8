import { readFileSync } from 'node:fs';
import type { Check } from './checks.ts';
import type { PrivateServices } from './private-services.ts';
import type { PropletFleet } from './proplet-fleet.ts';
import type { ManagerSystem } from './system.ts';

/** Manager log lines are JSON with stacks: the start of each says what happened. */
const LINE_CHARS = 400;
const SUSPECTS = 3;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

const clip = (line: string) => (line.length > LINE_CHARS ? `${line.slice(0, LINE_CHARS)}…` : line);
const out = (title: string, lines: string[]) =>
  process.stdout.write(`\n----- ${title}\n${lines.map((line) => `  ${clip(line)}`).join('\n')}\n`);

function linesWith(path: string, text: string, max: number): string[] {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((line) => line.includes(text))
      .slice(0, max);
  } catch {
    return [];
  }
}

/**
 * For a failed run, where to start looking: what every process said last, why those that exited on their
 * own did, and everything the manager and the proplets logged about the first few tasks a check named.
 */
export function printPostMortem(parts: {
  system: ManagerSystem;
  services: PrivateServices;
  /** Absent when the suite failed before the proplets started. */
  fleet?: PropletFleet;
  exits: ReadonlyArray<{ instance: string; tail: string }>;
  checks: readonly Check[];
}): void {
  const { system, services, fleet } = parts;
  process.stdout.write('\nwhat the processes said last (--keep keeps every log):\n');
  for (const exit of parts.exits)
    if (exit.tail) out(`${exit.instance}, before it exited on its own`, exit.tail.split('\n'));
  for (const instance of system.instances) out(instance.name, instance.process.tail(8).split('\n'));
  for (const service of services.all) out(service.name, service.tail(8).split('\n'));
  for (const proplet of fleet?.proplets ?? [])
    out(`${proplet.id} output`, proplet.process.tail(4).split('\n'));

  const suspects = [
    ...new Set(
      parts.checks
        .filter((check) => !check.passed && !check.observation)
        .flatMap((check) => check.details.flatMap((detail) => detail.match(UUID)?.slice(0, 1) ?? [])),
    ),
  ].slice(0, SUSPECTS);
  for (const id of suspects) {
    const lines = [
      ...system.instances.flatMap((instance) =>
        linesWith(instance.process.logFile, id, 12).map((line) => `${instance.name}: ${line}`),
      ),
      ...(fleet?.proplets ?? []).flatMap((proplet) =>
        linesWith(proplet.eventLog, id, 12).map((line) => `${proplet.id}: ${line}`),
      ),
    ];
    out(`everything logged about task ${id}`, lines.length > 0 ? lines : ['(nothing)']);
  }
}
