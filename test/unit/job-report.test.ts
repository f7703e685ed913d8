import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { createLogger } from '../../src/observability/logger.ts';
import { registry } from '../../src/observability/metrics.ts';
import { reportJob, type JobOutcome } from '../../src/queue/job-report.ts';
import { captureLogs } from '../support/log-capture.ts';
import { parseExposition, valueOf } from '../support/prometheus-text.ts';

/** A logger at debug writing JSON lines into `lines`. */
function capture(): { lines: Array<Record<string, unknown>>; logger: ReturnType<typeof createLogger> } {
  const { lines, logger } = captureLogs('debug');
  return { lines, logger: logger.child({ queue: 'task-start' }) };
}

const processed = async (labels: Record<string, string>) =>
  valueOf(parseExposition(await registry.metrics()), 'propeller_queue_jobs_processed_total', labels);

const job = (name: string, data: unknown, attemptsMade = 0) => ({
  id: `${name}-1`,
  name,
  data,
  attemptsMade,
});

describe('reportJob', () => {
  it('logs one line with the ids in the job data, never the data itself', () => {
    const { lines, logger } = capture();
    const data = { taskId: 't-1', attempt: 2, propletId: 'p-1', file: 'AGFzbQEAAAA=', inputs: ['secret'] };
    reportJob(logger, 'task-start', job('start', data, 1), 'completed', 12.3456);
    assert.equal(lines.length, 1);
    const [line] = lines;
    assert.equal(line!.msg, 'job completed');
    assert.equal(line!.level, 30);
    assert.deepEqual(
      { ...line, time: undefined, pid: undefined, hostname: undefined },
      {
        level: 30,
        time: undefined,
        pid: undefined,
        hostname: undefined,
        service: 'propeller-manager',
        queue: 'task-start',
        job: 'start',
        jobId: 'start-1',
        jobAttempt: 2,
        taskId: 't-1',
        attempt: 2,
        propletId: 'p-1',
        outcome: 'completed',
        durationMs: 12.346,
        msg: 'job completed',
      },
    );
  });

  it('logs by outcome: failures as errors, retries as warnings, delays and routine jobs at debug', () => {
    const { lines, logger } = capture();
    const cases: Array<[string, string, JobOutcome, number]> = [
      ['task-start', 'start', 'failed', 50],
      ['task-start', 'start', 'retried', 40],
      ['task-start', 'start', 'delayed', 20],
      ['proplet-liveness', 'heartbeats', 'completed', 20],
      ['group-progress', 'advance', 'completed', 30],
    ];
    for (const [queue, name, outcome] of cases)
      reportJob(logger, queue, job(name, { group: 'job', id: 'g-1' }), outcome, 1, new Error('boom'));
    assert.deepEqual(
      lines.map((line) => line.level),
      cases.map((c) => c[3]),
    );
    assert.equal(lines[4]!.groupId, 'g-1');
    assert.equal((lines[0]!.err as { message: string }).message, 'boom');
  });

  it('counts each run by queue, job and outcome', async () => {
    const { logger } = capture();
    const labels = { queue: 'maintenance', job: 'reconcile', outcome: 'retried' };
    const before = await processed(labels);
    reportJob(logger, 'maintenance', job('reconcile', {}), 'retried', 3);
    reportJob(logger, 'maintenance', job('reconcile', {}), 'retried', undefined);
    assert.equal((await processed(labels)) - before, 2);
  });
});
