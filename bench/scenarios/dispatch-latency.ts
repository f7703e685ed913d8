import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { HttpClient } from '../lib/http-client.ts';
import { ManagerSystem } from '../lib/manager-system.ts';
import { PropletPool } from '../lib/proplets.ts';
import { latencyFigure } from '../lib/figures.ts';
import type { Scenario } from '../lib/scenario.ts';
import { distribution, ratePerSecond } from '../lib/stats.ts';
import { awaitOutcomes } from '../lib/task-outcomes.ts';
import { insertPendingTasks } from '../lib/task-rows.ts';

const PROPLETS = 8;

/**
 * Open loop: starts of pre-created tasks offered at a fixed rate whatever the manager's answers take, each
 * timed from its accepted answer (202) to the simulated proplet receiving the start message.
 */
export const dispatchLatency: Scenario = {
  name: 'dispatch-latency',
  summary: `open-loop POST /tasks/{id}/start at a fixed rate (1,000/s; quick 200/s), ${PROPLETS} proplets: accepted → start received`,
  async run(context) {
    const rate = context.quick ? 200 : 1_000;
    const seconds = context.size(10, 3);
    const count = rate * seconds;
    const system = await ManagerSystem.start({ layout: 'all-in-one', nodeArgs: context.nodeArgs });
    context.defer(() => system.stop());
    const http = new HttpClient(system.baseUrl, 512);
    context.defer(() => http.close());
    const proplets = new PropletPool(system.topics, PROPLETS);
    context.defer(() => proplets.stop());
    await proplets.start(http);
    const expected = await insertPendingTasks(system.pool, count);
    const ids = [...expected.keys()];

    const requested = new Map<string, number>();
    const accepted = new Map<string, number>();
    const errors: string[] = [];
    const inFlight: Promise<void>[] = [];
    context.say(`${count} starts at ${rate}/s`);
    const began = performance.now();
    for (let i = 0; i < ids.length; i++) {
      const due = began + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      const id = ids[i]!;
      requested.set(id, performance.now());
      inFlight.push(
        http.json('POST', `/tasks/${id}/start`).then(
          () => void accepted.set(id, performance.now()),
          (error: unknown) => void errors.push(error instanceof Error ? error.message : String(error)),
        ),
      );
    }
    const offeredSpan = performance.now() - began;
    await Promise.all(inFlight);
    const answeredSpan = Math.max(...[...accepted.values()].map((at) => at - began), 0);
    const outcomes = await awaitOutcomes(system.pool, expected, { stallMs: 20_000, deadlineMs: 120_000 });
    const afterAccepted: number[] = [];
    const afterRequested: number[] = [];
    for (const [id, at] of accepted) {
      const received = proplets.received.get(id);
      if (received === undefined) continue;
      afterAccepted.push(received - at);
      afterRequested.push(received - requested.get(id)!);
    }
    const latency = distribution(afterAccepted);
    const failures = [...outcomes.failures, ...system.deaths()];
    if (errors.length > 0) failures.push(`${errors.length} starts refused, e.g. ${errors[0]}`);
    return {
      figures: [
        latencyFigure('p50Ms', 'accepted → start received p50', latency.p50, 3),
        latencyFigure('p99Ms', 'accepted → start received p99', latency.p99, 20),
        {
          key: 'achievedPerSecond',
          label: `starts accepted/s (offered ${rate}/s)`,
          value: ratePerSecond(accepted.size, answeredSpan),
          unit: 'starts/s',
        },
      ],
      failures,
      notes: [
        `${count} pre-created tasks (inserted in Postgres), started over ${seconds} s; a start message can arrive before the answer does, so values below 0 are possible`,
      ],
      details: {
        rate,
        seconds,
        tasks: count,
        offeredPerSecond: ratePerSecond(count, offeredSpan),
        acceptedToReceivedMs: latency,
        requestToReceivedMs: distribution(afterRequested),
        requestToAcceptedMs: distribution([...accepted].map(([id, at]) => at - requested.get(id)!)),
        repeatedStarts: proplets.repeatedStarts,
        completed: outcomes.completed,
      },
    };
  },
};
