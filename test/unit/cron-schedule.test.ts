import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cronProblem, nextRun, normaliseCron, timezoneProblem } from '../../src/domain/cron-schedule.ts';
import { queuePriority } from '../../src/domain/task-priority.ts';
import { createTaskBody, updateTaskBody } from '../../src/http/schemas/task-input.ts';

const at = (iso: string) => new Date(iso);

describe('cronProblem', () => {
  it('accepts 5-field expressions as upstream parses them', () => {
    for (const expression of [
      '* * * * *',
      '*/5 * * * *',
      '0 9 * * MON-FRI',
      '0 0 1 jan,jul *',
      '5,10-20/5 0-23/2 1-31 1-12 0-6',
      '0 0 ? * 1',
      '0 0 * * 7',
      '  0   12 * *  *  ',
    ])
      assert.equal(cronProblem(expression), undefined, expression);
  });

  it('refuses other field counts, naming what it expects', () => {
    assert.match(cronProblem('0 0 * * * *')!, /expected 5 fields .* got 6/);
    assert.match(cronProblem('* * * *')!, /got 4/);
    // Parses, but no day ever matches: refused rather than failing later with a 500.
    assert.match(cronProblem('0 0 31 2,4 *')!, /invalid cron expression/);
    assert.match(cronProblem('0 0 1 1 * 2026')!, /got 6/);
  });

  it('refuses descriptors, empty expressions and extensions upstream lacks', () => {
    assert.match(cronProblem('@daily')!, /descriptors/);
    assert.match(cronProblem('@every 5m')!, /descriptors/);
    assert.match(cronProblem('')!, /empty/);
    assert.match(cronProblem('   ')!, /empty/);
    assert.match(cronProblem('H * * * *')!, /minute field/);
    assert.match(cronProblem('0 0 L * *')!, /day of month field/);
    assert.match(cronProblem('0 0 * * 5#3')!, /day of week field/);
    assert.equal(cronProblem('0 0 * * MON'), undefined); // names are fine in their own field…
    assert.match(cronProblem('0 0 MON * *')!, /day of month field/); // …not elsewhere
  });

  it('refuses values out of range and impossible dates', () => {
    assert.match(cronProblem('61 * * * *')!, /invalid cron expression/);
    assert.match(cronProblem('0 24 * * *')!, /invalid cron expression/);
    assert.match(cronProblem('0 0 0 * *')!, /invalid cron expression/);
    assert.match(cronProblem('0 0 30 2 *')!, /invalid cron expression/);
    assert.match(cronProblem('a b c d e')!, /invalid cron expression/);
  });

  it('normalises the spacing', () => {
    assert.equal(normaliseCron('  0   12 * *  *  '), '0 12 * * *');
  });
});

describe('timezoneProblem', () => {
  it('accepts IANA names', () => {
    for (const zone of ['UTC', 'Europe/Paris', 'America/New_York', 'Asia/Kolkata', 'Etc/GMT+5'])
      assert.equal(timezoneProblem(zone), undefined, zone);
  });

  it('refuses anything else, naming the value', () => {
    assert.match(timezoneProblem('Mars/Olympus_Mons')!, /unknown time zone 'Mars\/Olympus_Mons'/);
    assert.match(timezoneProblem('not a zone')!, /IANA/);
  });
});

describe('nextRun', () => {
  it('is the next occurrence strictly after the given time, in UTC by default', () => {
    assert.equal(
      nextRun('*/5 * * * *', null, at('2026-01-10T12:00:00Z')).toISOString(),
      '2026-01-10T12:05:00.000Z',
    );
    assert.equal(
      nextRun('0 0 * * *', undefined, at('2026-01-10T00:00:00Z')).toISOString(),
      '2026-01-11T00:00:00.000Z',
    );
    assert.equal(
      nextRun('0 9 * * MON', 'UTC', at('2026-01-10T12:00:00Z')).toISOString(),
      '2026-01-12T09:00:00.000Z',
    );
  });

  it('is reckoned in the task time zone', () => {
    // 09:00 in New York in January is 14:00 UTC (EST, UTC−5), in July 13:00 UTC (EDT, UTC−4).
    assert.equal(
      nextRun('0 9 * * *', 'America/New_York', at('2026-01-10T12:00:00Z')).toISOString(),
      '2026-01-10T14:00:00.000Z',
    );
    assert.equal(
      nextRun('0 9 * * *', 'America/New_York', at('2026-07-10T12:00:00Z')).toISOString(),
      '2026-07-10T13:00:00.000Z',
    );
    assert.equal(
      nextRun('30 5 * * *', 'Asia/Kolkata', at('2026-01-10T00:00:00Z')).toISOString(),
      '2026-01-11T00:00:00.000Z',
    );
  });

  it('crosses daylight-saving changes: a time in the spring gap runs an hour later, a repeated time once', () => {
    // Paris, 29 March 2026: 02:00 CET jumps to 03:00 CEST, so 02:30 does not exist that day.
    assert.equal(
      nextRun('30 2 * * *', 'Europe/Paris', at('2026-03-28T12:00:00Z')).toISOString(),
      '2026-03-29T01:30:00.000Z',
    );
    // Later times that day are in CEST (UTC+2).
    assert.equal(
      nextRun('0 12 * * *', 'Europe/Paris', at('2026-03-29T00:00:00Z')).toISOString(),
      '2026-03-29T10:00:00.000Z',
    );
    // Paris, 25 October 2026: 03:00 CEST falls back to 02:00 CET, so 02:30 happens twice; it runs at the first.
    const first = nextRun('30 2 * * *', 'Europe/Paris', at('2026-10-24T12:00:00Z'));
    assert.equal(first.toISOString(), '2026-10-25T00:30:00.000Z');
    assert.equal(nextRun('30 2 * * *', 'Europe/Paris', first).toISOString(), '2026-10-26T01:30:00.000Z');
  });
});

describe('queuePriority', () => {
  it('maps 100 (highest) to BullMQ 1 and 1 to 100, and never gives 0 (no priority)', () => {
    assert.equal(queuePriority(100), 1);
    assert.equal(queuePriority(1), 100);
    assert.equal(queuePriority(50), 51);
    assert.equal(queuePriority(0), 51, '0 means not set: the default 50');
    assert.ok(queuePriority(90) < queuePriority(10), 'higher priorities are taken first');
  });
});

describe('schedule fields at the HTTP boundary', () => {
  const createError = (body: unknown) => {
    const parsed = createTaskBody.safeParse(body);
    assert.equal(parsed.success, false);
    return parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
  };

  it('refuses an invalid schedule or time zone on create, naming the field', () => {
    assert.match(createError({ name: 'a', schedule: '0 0 * * * *' }), /^schedule: .*5 fields/);
    assert.match(createError({ name: 'a', schedule: '@hourly' }), /^schedule: /);
    assert.match(createError({ name: 'a', schedule: '* * * * *', timezone: 'Nowhere/City' }), /^timezone: /);
  });

  it('reads a schedule on create, normalised, with its time zone', () => {
    const task = createTaskBody.parse({
      name: 'a',
      schedule: ' 0  9 * * * ',
      timezone: 'Europe/Paris',
      is_recurring: true,
    });
    assert.equal(task.schedule, '0 9 * * *');
    assert.equal(task.timezone, 'Europe/Paris');
    assert.equal(task.isRecurring, true);
  });

  it('on update, leaves the schedule alone when it is absent or empty, and clears it on null', () => {
    assert.deepEqual(updateTaskBody.parse({ name: 'b' }), { name: 'b' });
    assert.deepEqual(updateTaskBody.parse({ schedule: '', timezone: '', is_recurring: true }), {});
    assert.deepEqual(updateTaskBody.parse({ timezone: 'Asia/Tokyo' }), { timezone: 'Asia/Tokyo' });
    assert.deepEqual(updateTaskBody.parse({ schedule: null }), { schedule: null });
    assert.deepEqual(
      updateTaskBody.parse({ schedule: '*/2 * * * *', timezone: 'UTC', is_recurring: false }),
      {
        schedule: '*/2 * * * *',
        timezone: 'UTC',
        isRecurring: false,
      },
    );
    assert.equal(updateTaskBody.safeParse({ schedule: '1 2 3' }).success, false);
    assert.equal(updateTaskBody.safeParse({ timezone: 'Moon/Base' }).success, false);
  });
});
