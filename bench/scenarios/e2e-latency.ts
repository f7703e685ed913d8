import { performance } from 'node:perf_hooks';
import { TaskState } from '../../src/domain/task-state.ts';
import { openEventStream, type StreamFrame } from '../../test/support/event-stream.ts';
import { waitFor } from '../../test/support/wait.ts';
import { HttpClient } from '../lib/http-client.ts';
import { ManagerSystem } from '../lib/manager-system.ts';
import { PropletPool } from '../lib/proplets.ts';
import { latencyFigure } from '../lib/figures.ts';
import type { Scenario } from '../lib/scenario.ts';
import { distribution } from '../lib/stats.ts';
import { awaitOutcomes } from '../lib/task-outcomes.ts';
import { insertPendingTasks } from '../lib/task-rows.ts';

/**
 * One trivial task at a time, no other load: from the start request to the result applied, seen two ways
 * in two passes. Polling GET /tasks/{id} back to back (the headline: it sees the change as soon as it is
 * committed, give or take one GET) and following GET /events (as a dashboard does: the api reads the event
 * log every 100 ms, so this adds about 50 ms on average). Both also give the finish time the results worker
 * recorded, minus the request time: the latency without the observer's share.
 */
export const e2eLatency: Scenario = {
  name: 'e2e-latency',
  summary:
    'sequential single tasks at light load: start request → result applied (poll GET /tasks/{id}; GET /events)',
  async run(context) {
    const perPass = context.size(300, 30);
    const system = await ManagerSystem.start({ layout: 'all-in-one', nodeArgs: context.nodeArgs });
    context.defer(() => system.stop());
    const http = new HttpClient(system.baseUrl, 4);
    context.defer(() => http.close());
    const proplets = new PropletPool(system.topics, 1);
    context.defer(() => proplets.stop());
    await proplets.start(http);
    const expected = await insertPendingTasks(system.pool, perPass * 2);
    const ids = [...expected.keys()];
    const startedWall = new Map<string, number>();

    context.say(`${perPass} tasks polled`);
    const polled: number[] = [];
    for (const id of ids.slice(0, perPass)) {
      startedWall.set(id, Date.now());
      const began = performance.now();
      await http.json('POST', `/tasks/${id}/start`);
      for (;;) {
        const task = await http.json<{ state: number }>('GET', `/tasks/${id}`);
        if (task.state === TaskState.Completed) break;
        if (performance.now() - began > 30_000) throw new Error(`task ${id} not Completed within 30 s`);
      }
      polled.push(performance.now() - began);
    }

    context.say(`${perPass} tasks followed on GET /events`);
    const completedAt = new Map<string, number>();
    const onFrame = (frame: StreamFrame) => {
      const data = frame.data as { state?: number; task_id?: string };
      if (frame.event === 'task' && data.state === TaskState.Completed && data.task_id)
        completedAt.set(data.task_id, performance.now());
    };
    const stream = await openEventStream(system.baseUrl, '/events', {}, onFrame);
    context.defer(() => stream.close());
    await stream.next((frame) => frame.event === 'ready', 'the stream ready');
    const followed: number[] = [];
    for (const id of ids.slice(perPass)) {
      startedWall.set(id, Date.now());
      const began = performance.now();
      await http.json('POST', `/tasks/${id}/start`);
      await waitFor(() => completedAt.has(id), `task ${id} Completed on the stream`, 30_000);
      followed.push(completedAt.get(id)! - began);
    }
    stream.close();

    const outcomes = await awaitOutcomes(system.pool, expected, { stallMs: 10_000, deadlineMs: 30_000 });
    const { rows } = await system.pool.query<{ id: string; finish_time: Date }>(
      'SELECT id, finish_time FROM tasks WHERE finish_time IS NOT NULL',
    );
    const recorded = rows.map((row) => row.finish_time.getTime() - startedWall.get(row.id)!);
    const poll = distribution(polled);
    const events = distribution(followed);
    return {
      figures: [
        latencyFigure('p50Ms', 'start → applied p50 (polling)', poll.p50, 15),
        latencyFigure('p99Ms', 'start → applied p99 (polling)', poll.p99, 50),
        latencyFigure('eventsP50Ms', 'start → Completed event p50 (GET /events)', events.p50),
        latencyFigure('eventsP99Ms', 'start → Completed event p99 (GET /events)', events.p99),
      ],
      failures: [...outcomes.failures, ...system.deaths()],
      notes: [
        `${perPass} tasks a pass, one at a time, one proplet; headline: polling GET /tasks/{id} back to back; GET /events adds the api's 100 ms log read`,
      ],
      details: {
        tasksPerPass: perPass,
        pollingMs: poll,
        eventsMs: events,
        requestToFinishRecordedMs: distribution(recorded),
      },
    };
  },
};
