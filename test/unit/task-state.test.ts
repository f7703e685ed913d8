import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  isTerminal,
  STARTABLE_STATES,
  stateName,
  TaskState,
  TERMINAL_STATES,
  TRANSITIONS,
  type TransitionName,
} from '../../src/domain/task-state.ts';

const ALL_STATES = Object.values(TaskState);

/** The states each transition may start from; every other state must be refused. */
const EXPECTED_FROM: Record<TransitionName, TaskState[]> = {
  schedule: [
    TaskState.Pending,
    TaskState.Completed,
    TaskState.Failed,
    TaskState.Skipped,
    TaskState.Interrupted,
  ],
  dispatch: [TaskState.Scheduled],
  complete: [TaskState.Running],
  fail: [TaskState.Running],
  withdraw: [TaskState.Scheduled],
  stop: [TaskState.Running],
  giveUpStart: [TaskState.Scheduled],
  retry: [TaskState.Running],
  advance: [TaskState.Pending],
  skip: [TaskState.Pending],
  refuse: [TaskState.Pending],
};

describe('task states', () => {
  it('uses upstream numbers on the wire', () => {
    assert.deepEqual(TaskState, {
      Pending: 0,
      Scheduled: 1,
      Running: 2,
      Completed: 3,
      Failed: 4,
      Skipped: 5,
      Interrupted: 6,
    });
  });

  it('treats Completed, Failed, Skipped and Interrupted as terminal', () => {
    const terminal = ALL_STATES.filter((state) => isTerminal(state));
    assert.deepEqual(terminal, [3, 4, 5, 6]);
    assert.deepEqual([...TERMINAL_STATES].sort(), [3, 4, 5, 6]);
  });

  it('lets start run a task that never ran or has finished', () => {
    assert.deepEqual([...STARTABLE_STATES].sort(), [0, 3, 4, 5, 6]);
  });

  it('names states for logs, Unknown otherwise', () => {
    assert.equal(stateName(0), 'Pending');
    assert.equal(stateName(1), 'Scheduled');
    assert.equal(stateName(2), 'Running');
    assert.equal(stateName(3), 'Completed');
    assert.equal(stateName(4), 'Failed');
    assert.equal(stateName(5), 'Skipped');
    assert.equal(stateName(6), 'Interrupted');
    assert.equal(stateName(7), 'Unknown');
    assert.equal(stateName(-1), 'Unknown');
  });
});

describe('transitions', () => {
  it('covers exactly the expected transitions', () => {
    assert.deepEqual(Object.keys(TRANSITIONS).sort(), Object.keys(EXPECTED_FROM).sort());
  });

  for (const [name, allowed] of Object.entries(EXPECTED_FROM) as [TransitionName, TaskState[]][]) {
    it(`${name} is allowed only from ${allowed.map(stateName).join(', ')}`, () => {
      for (const from of ALL_STATES) {
        const from_ = TRANSITIONS[name].from as readonly TaskState[];
        assert.equal(from_.includes(from), allowed.includes(from), `${name} from ${stateName(from)}`);
      }
    });
  }

  it('leads to the expected states', () => {
    assert.equal(TRANSITIONS.schedule.to, TaskState.Scheduled);
    assert.equal(TRANSITIONS.dispatch.to, TaskState.Running);
    assert.equal(TRANSITIONS.complete.to, TaskState.Completed);
    assert.equal(TRANSITIONS.fail.to, TaskState.Failed);
    assert.equal(TRANSITIONS.withdraw.to, TaskState.Failed);
    assert.equal(TRANSITIONS.stop.to, TaskState.Failed);
    assert.equal(TRANSITIONS.giveUpStart.to, TaskState.Failed);
  });

  it('never leaves a state for itself, so a conditional update always changes something', () => {
    for (const { from, to } of Object.values(TRANSITIONS)) {
      assert.ok(!(from as readonly TaskState[]).includes(to));
    }
  });
});
