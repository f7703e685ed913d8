import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideProgress, entryTasks, type GroupTask } from '../../src/domain/progression.ts';
import { TaskState } from '../../src/domain/task-state.ts';

const { Pending, Scheduled, Running, Completed, Failed, Skipped } = TaskState;

function task(
  id: string,
  state: TaskState,
  dependsOn: string[] = [],
  runIf: string | null = null,
): GroupTask {
  return { id, state, dependsOn, runIf };
}

const workflow = (...tasks: GroupTask[]) => ({ tasks, mode: 'parallel' as const, failFast: false });

describe('workflow and job progression', () => {
  it('starts a task once all its parents completed, not before', () => {
    const waiting = decideProgress(
      workflow(task('a', Completed), task('b', Running), task('c', Pending, ['a', 'b'])),
    );
    assert.deepEqual(waiting, { start: [], skip: [], stop: [] });
    const ready = decideProgress(
      workflow(task('a', Completed), task('b', Completed), task('c', Pending, ['a', 'b'])),
    );
    assert.deepEqual(ready.start, ['c']);
  });

  it('never starts tasks that wait for nothing: the client or the job start does', () => {
    assert.deepEqual(decideProgress(workflow(task('a', Pending), task('b', Pending))).start, []);
  });

  it('runs a failure handler when a parent failed, and skips the success branch with its descendants', () => {
    const progress = decideProgress(
      workflow(
        task('a', Failed),
        task('ok', Pending, ['a'], 'success'),
        task('after-ok', Pending, ['ok']),
        task('handler', Pending, ['a'], 'failure'),
        task('after-handler', Pending, ['handler']),
      ),
    );
    assert.deepEqual(progress.start, ['handler']);
    assert.deepEqual(progress.skip.sort(), ['after-ok', 'ok']);
  });

  it('skips a failure handler when nothing failed', () => {
    const progress = decideProgress(
      workflow(task('a', Completed), task('handler', Pending, ['a'], 'failure')),
    );
    assert.deepEqual(progress.skip, ['handler']);
  });

  it('counts a skipped parent as not completed', () => {
    const progress = decideProgress(workflow(task('a', Skipped), task('b', Pending, ['a'])));
    assert.deepEqual(progress.skip, ['b']);
  });

  it('runs a sequential job one task after another, in dependency order', () => {
    const tasks = [task('c', Pending, ['b']), task('a', Pending), task('b', Pending)];
    assert.deepEqual(entryTasks({ tasks, mode: 'sequential' }), ['a']);
    assert.deepEqual(entryTasks({ tasks, mode: 'parallel' }), ['a', 'b']);
    const job = (states: TaskState[]) => ({
      tasks: ['a', 'b', 'c'].map((id, i) => task(id, states[i]!, id === 'c' ? ['b'] : [])),
      mode: 'sequential' as const,
      failFast: true,
    });
    assert.deepEqual(decideProgress(job([Running, Pending, Pending])).start, []);
    assert.deepEqual(decideProgress(job([Completed, Pending, Pending])).start, ['b']);
    assert.deepEqual(decideProgress(job([Completed, Completed, Pending])).start, ['c']);
  });

  it('fails a job fast: stops what runs, skips what waits, but lets failure handlers run', () => {
    const progress = decideProgress({
      tasks: [
        task('a', Failed),
        task('b', Running),
        task('c', Scheduled),
        task('d', Pending, ['b']),
        task('handler', Pending, ['a'], 'failure'),
      ],
      mode: 'parallel',
      failFast: true,
    });
    assert.deepEqual(progress.stop, ['b', 'c']);
    assert.deepEqual(progress.skip, ['d']);
    assert.deepEqual(progress.start, ['handler']);
  });

  it('lets a workflow go on after a failure elsewhere', () => {
    const progress = decideProgress(
      workflow(task('a', Failed), task('b', Completed), task('c', Pending, ['b'])),
    );
    assert.deepEqual(progress, { start: ['c'], skip: [], stop: [] });
  });

  it('skips the dependents of a deleted parent instead of waiting for it forever', () => {
    const progress = decideProgress(workflow(task('a', Completed), task('b', Pending, ['a', 'gone'])));
    assert.deepEqual(progress, { start: [], skip: ['b'], stop: [] });
    assert.deepEqual(entryTasks({ tasks: [task('b', Pending, ['gone'])], mode: 'parallel' }), []);
  });
});
