import type { PropletEvent, TaskEvent } from '../../domain/task-event.ts';
import { stateName } from '../../domain/task-state.ts';

/** The data of a `task` event on GET /events (the README describes it). */
export function toTaskEventJson(event: TaskEvent): Record<string, unknown> {
  return {
    kind: event.kind,
    task_id: event.taskId,
    name: event.name,
    state: event.state,
    state_name: stateName(event.state),
    previous_state: event.previousState,
    previous_state_name: event.previousState === null ? null : stateName(event.previousState),
    proplet_id: event.propletId,
    attempt: event.attempt,
    error: event.error,
    time: event.time.toISOString(),
  };
}

/** The data of a `proplet` event on GET /events. */
export function toPropletEventJson(event: PropletEvent): Record<string, unknown> {
  return { proplet_id: event.propletId, alive: event.alive, time: event.time.toISOString() };
}
