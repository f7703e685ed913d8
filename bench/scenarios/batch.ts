import { performance } from 'node:perf_hooks';
import { addTask } from '../lib/add-task.ts';
import { HttpClient } from '../lib/http-client.ts';
import { ManagerSystem } from '../lib/manager-system.ts';
import { PropletPool } from '../lib/proplets.ts';
import type { Scenario } from '../lib/scenario.ts';
import { ratePerSecond } from '../lib/stats.ts';
import { awaitOutcomes } from '../lib/task-outcomes.ts';

const BATCH = 1_000;
const CLIENTS = 4;
const PROPLETS = 8;

/**
 * POST /tasks/batch with `start: true`, batches of 1,000 from a few clients: how fast tasks are created and
 * dispatched (start messages received by proplets) and completed. A manager without the endpoint (404/405)
 * makes the scenario "not available", not failed.
 */
export const batch: Scenario = {
  name: 'batch',
  summary: `POST /tasks/batch of ${BATCH} tasks with start, ${CLIENTS} clients, ${PROPLETS} proplets answering at once`,
  async run(context) {
    const total = context.size(20_000, 2_000);
    const system = await ManagerSystem.start({ layout: 'all-in-one', nodeArgs: context.nodeArgs });
    context.defer(() => system.stop());
    const http = new HttpClient(system.baseUrl, CLIENTS);
    context.defer(() => http.close());
    const proplets = new PropletPool(system.topics, PROPLETS);
    context.defer(() => proplets.stop());
    await proplets.start(http);

    const probe = await http.request('POST', '/tasks/batch', { tasks: [], start: true });
    if (probe.status === 404 || probe.status === 405)
      return {
        status: 'not available',
        figures: [
          {
            key: 'dispatchedPerSecond',
            label: 'dispatched tasks/s',
            value: null,
            unit: 'tasks/s',
            target: { op: '>=', value: 10_000 },
          },
        ],
        notes: [`POST /tasks/batch answered ${probe.status}: this manager has no batch endpoint yet`],
      };

    const expected = new Map<string, string>();
    const failures: string[] = [];
    let next = 0;
    const beganWall = Date.now();
    const began = performance.now();
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (next < total && failures.length === 0) {
          const from = next;
          const size = Math.min(BATCH, total - from);
          next += size;
          const tasks = Array.from({ length: size }, (_, i) => addTask(from + i));
          try {
            const answer = await http.request<{ tasks?: Array<{ id: string }> }>('POST', '/tasks/batch', {
              tasks: tasks.map((task) => task.body),
              start: true,
            });
            if (answer.status !== 201 || answer.body.tasks?.length !== size)
              throw new Error(
                `answered ${answer.status} with ${answer.body.tasks?.length} tasks for ${size}: ${JSON.stringify(answer.body).slice(0, 200)}`,
              );
            answer.body.tasks.forEach((task, i) => expected.set(task.id, tasks[i]!.expected));
          } catch (error) {
            failures.push(`POST /tasks/batch ${error instanceof Error ? error.message : String(error)}`);
          }
        }
      }),
    );
    const submitted = performance.now();
    const outcomes = await awaitOutcomes(system.pool, expected, { stallMs: 20_000, deadlineMs: 300_000 });
    const arrivals = [...expected.keys()]
      .map((id) => proplets.received.get(id))
      .filter((at) => at !== undefined);
    const lastArrival = arrivals.reduce((latest, at) => Math.max(latest, at), began);
    failures.push(...outcomes.failures, ...system.deaths());
    return {
      figures: [
        {
          key: 'createdPerSecond',
          label: 'created and queued tasks/s (201 received)',
          value: ratePerSecond(expected.size, submitted - began),
          unit: 'tasks/s',
          baseline: { of: 'raw-bullmq/jobsPerSecond' },
        },
        {
          key: 'dispatchedPerSecond',
          label: 'dispatched tasks/s (start received)',
          value: ratePerSecond(arrivals.length, lastArrival - began),
          unit: 'tasks/s',
          target: { op: '>=', value: 10_000 },
          baseline: { of: 'raw-bullmq/jobsPerSecond' },
        },
        {
          key: 'completedPerSecond',
          label: 'completed tasks/s',
          value: ratePerSecond(outcomes.completed, (outcomes.lastFinishMs ?? Date.now()) - beganWall),
          unit: 'tasks/s',
          baseline: { of: 'raw-bullmq/jobsPerSecond' },
        },
      ],
      failures,
      notes: [
        `${total} tasks in batches of ${BATCH}; rates from the first request to the last start received / task finished`,
      ],
      details: {
        tasks: total,
        startsReceived: arrivals.length,
        repeatedStarts: proplets.repeatedStarts,
        completed: outcomes.completed,
        notCompleted: outcomes.notCompleted,
        wrongResults: outcomes.wrongResults,
      },
    };
  },
};
