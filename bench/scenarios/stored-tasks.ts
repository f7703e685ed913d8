import { performance } from 'node:perf_hooks';
import { HttpClient } from '../lib/http-client.ts';
import { latencyFigure } from '../lib/figures.ts';
import type { Scenario } from '../lib/scenario.ts';
import { distribution } from '../lib/stats.ts';
import { insertTaskHistory } from '../lib/task-rows.ts';

const WARM_UP = 20;

/** Sequential requests, one client: latency without queueing behind the benchmark's own requests. */
async function timeRequests(http: HttpClient, paths: readonly string[]): Promise<number[]> {
  const times: number[] = [];
  for (const path of paths) {
    const began = performance.now();
    await http.json('GET', path);
    times.push(performance.now() - began);
  }
  return times;
}

/**
 * Reads with a large history in the database: many tasks written straight into Postgres (as a manager that
 * has run them holds them), then the first page of GET /tasks and GET /tasks/{id} of random tasks, timed.
 */
export const storedTasks: Scenario = {
  name: 'stored-tasks',
  summary: 'tasks in Postgres (100,000; quick 10,000): GET /tasks first page and GET /tasks/{id}, sequential',
  async run(context) {
    const count = context.size(100_000, 10_000);
    const requests = context.size(500, 100);
    const system = await context.longLivedManager();
    const http = new HttpClient(system.baseUrl, 1);
    context.defer(() => http.close());
    context.say(`inserting ${count} tasks`);
    const insertBegan = performance.now();
    const ids = await insertTaskHistory(system.pool, count, 'bench-proplet');
    // What autovacuum would do soon after such an insert; without it the planner knows nothing of the rows.
    await system.pool.query('ANALYZE tasks');
    const insertSeconds = Math.round(performance.now() - insertBegan) / 1000;
    const randomIds = Array.from({ length: requests }, () => ids[Math.floor(Math.random() * ids.length)]!);
    await timeRequests(http, [
      ...Array<string>(WARM_UP).fill('/tasks'),
      ...randomIds.slice(0, WARM_UP).map((id) => `/tasks/${id}`),
    ]);
    const list = distribution(await timeRequests(http, Array<string>(requests).fill('/tasks')));
    const one = distribution(
      await timeRequests(
        http,
        randomIds.map((id) => `/tasks/${id}`),
      ),
    );
    const page = await http.json<{ total: number; tasks: unknown[] }>('GET', '/tasks');
    const failures = [...system.deaths()];
    if (page.total < count) failures.push(`GET /tasks counts ${page.total} tasks, not at least ${count}`);
    return {
      figures: [
        latencyFigure('listP99Ms', 'GET /tasks first page p99', list.p99, 20),
        latencyFigure('getP99Ms', 'GET /tasks/{id} p99', one.p99, 5),
      ],
      failures,
      notes: [
        `${count} tasks inserted in ${insertSeconds} s; ${requests} requests each, one client, after ${WARM_UP} to warm up; first page = GET /tasks as is (${page.tasks.length} tasks)${context.longLivedUsers.includes('fleet') ? '; the fleet kept beating meanwhile' : ''}`,
      ],
      details: {
        tasks: count,
        requests,
        insertSeconds,
        listMs: list,
        getMs: one,
        pageSize: page.tasks.length,
        total: page.total,
      },
    };
  },
};
