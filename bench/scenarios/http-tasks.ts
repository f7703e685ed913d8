import { performance } from 'node:perf_hooks';
import { addTask } from '../lib/add-task.ts';
import type { Figure } from '../lib/figures.ts';
import { HttpClient } from '../lib/http-client.ts';
import { ManagerSystem, type Layout } from '../lib/manager-system.ts';
import { PropletPool } from '../lib/proplets.ts';
import type { ScenarioContext, Scenario } from '../lib/scenario.ts';
import { serverCounters } from '../lib/server-counters.ts';
import { distribution, ratePerSecond } from '../lib/stats.ts';
import { awaitOutcomes } from '../lib/task-outcomes.ts';

const CLIENTS = 64;
const PROPLETS = 8;

interface LayoutRun {
  figure: Figure;
  failures: string[];
  details: Record<string, unknown>;
}

/** Closed loop: each client creates a task, starts it, and goes on with the next until `seconds` have passed. */
async function runLayout(context: ScenarioContext, layout: Layout, seconds: number): Promise<LayoutRun> {
  context.say(`${layout}: starting the manager`);
  const system = await ManagerSystem.start({ layout, nodeArgs: context.nodeArgs });
  const http = new HttpClient(system.baseUrl, CLIENTS);
  const proplets = new PropletPool(system.topics, PROPLETS);
  try {
    await proplets.start(http);
    const expected = new Map<string, string>();
    const startRequested = new Map<string, number>();
    const httpErrors: string[] = [];
    let next = 0;
    const usageBefore = system.usage();
    const countersBefore = await serverCounters(system.pool, system.database.name);
    context.say(`${layout}: ${CLIENTS} clients for ${seconds} s`);
    const beganWall = Date.now();
    const began = performance.now();
    const stopAt = began + seconds * 1000;
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (performance.now() < stopAt && system.deaths().length === 0) {
          const task = addTask(next++);
          try {
            const { id } = await http.json<{ id: string }>('POST', '/tasks', task.body);
            expected.set(id, task.expected);
            startRequested.set(id, performance.now());
            await http.json('POST', `/tasks/${id}/start`);
          } catch (error) {
            if (httpErrors.length < 1000)
              httpErrors.push(error instanceof Error ? error.message : String(error));
          }
        }
      }),
    );
    const submitted = performance.now();
    context.say(`${layout}: ${expected.size} tasks submitted; waiting for them to complete`);
    const outcomes = await awaitOutcomes(system.pool, expected, { stallMs: 20_000, deadlineMs: 300_000 });
    const usageAfter = system.usage();
    const countersAfter = await serverCounters(system.pool, system.database.name);
    const spanMs = (outcomes.lastFinishMs ?? Date.now()) - beganWall;
    const neverReceived = outcomes.notCompletedIds.filter((id) => !proplets.received.has(id)).length;
    const failures = [...outcomes.failures, ...system.deaths()];
    if (outcomes.notCompletedIds.length > 0)
      failures.push(
        `of the tasks not Completed, ${neverReceived} never reached a proplet and ${outcomes.notCompletedIds.length - neverReceived} were started on one, which answered at once (its result was not applied)`,
      );
    if (httpErrors.length > 0)
      failures.push(
        `${httpErrors.length} requests failed, e.g. ${[...new Set(httpErrors)].slice(0, 3).join('; ')}`,
      );
    const toProplet = [...startRequested]
      .filter(([id]) => proplets.received.has(id))
      .map(([id, at]) => proplets.received.get(id)! - at);
    const cpuSeconds = usageAfter.cpuSeconds - usageBefore.cpuSeconds;
    const tasks = expected.size;
    return {
      figure: {
        key: layout === 'all-in-one' ? 'completedPerSecondAllInOne' : 'completedPerSecondPerRole',
        label: `completed tasks/s, ${layout}`,
        value: ratePerSecond(outcomes.completed, spanMs),
        unit: 'tasks/s',
        target: { op: '>=', value: 2000 },
        baseline: { of: 'raw-bullmq/jobsPerSecond', atLeast: 0.4 },
      },
      failures: failures.map((failure) => `${layout}: ${failure}`),
      details: {
        tasks,
        completed: outcomes.completed,
        notCompleted: outcomes.notCompleted,
        wrongResults: outcomes.wrongResults,
        repeatedStarts: proplets.repeatedStarts,
        createdAndStartedPerSecond: ratePerSecond(tasks, submitted - began),
        secondsToLastCompletion: Math.round(spanMs) / 1000,
        startRequestToPropletMs: distribution(toProplet),
        perTask: {
          postgresCommits: +((countersAfter.pgCommits - countersBefore.pgCommits) / tasks).toFixed(2),
          redisCommands: +((countersAfter.redisCommands - countersBefore.redisCommands) / tasks).toFixed(2),
          managerCpuMs: +((cpuSeconds / tasks) * 1000).toFixed(3),
        },
        managerCpuCores: +(cpuSeconds / (spanMs / 1000)).toFixed(2),
        managerRssMiB: usageAfter.rssMiB,
        managerProcesses: system.pids.length,
      },
    };
  } finally {
    await proplets.stop().catch(() => undefined);
    http.close();
    await system.stop();
  }
}

/**
 * The whole task path under load, once with every role in one process (`npm start`) and once with each role
 * in a process of its own: POST /tasks then POST /tasks/{id}/start per task, proplets answering at once,
 * and every task checked Completed with its own result.
 */
export const httpTasks: Scenario = {
  name: 'http-tasks',
  summary: `create + start one task per HTTP call, ${CLIENTS} clients, ${PROPLETS} proplets answering at once; all-in-one, then per role`,
  async run(context) {
    const seconds = context.size(60, 5);
    const runs: LayoutRun[] = [];
    for (const layout of ['all-in-one', 'per-role'] as const)
      runs.push(await runLayout(context, layout, seconds));
    return {
      figures: runs.map((run) => run.figure),
      failures: runs.flatMap((run) => run.failures),
      notes: [
        `closed loop for ${seconds} s, then until every task ended; tasks/s = Completed tasks / (last finish − first request)`,
      ],
      details: {
        seconds,
        clients: CLIENTS,
        proplets: PROPLETS,
        allInOne: runs[0]!.details,
        perRole: runs[1]!.details,
      },
    };
  },
};
