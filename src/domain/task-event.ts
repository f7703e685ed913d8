import type { TaskState } from './task-state.ts';

/**
 * What happened to a task: created, its state (or attempt) changed, deleted; or, for a snapshot, the state
 * it is in now, read from the task itself when a client starts following it.
 */
export type TaskEventKind = 'created' | 'changed' | 'deleted' | 'snapshot';

export interface TaskEvent {
  /** Position in the event log, increasing with every change of one task; a snapshot has none. */
  id?: number;
  kind: TaskEventKind;
  taskId: string;
  name: string;
  state: TaskState;
  /** The state the change left; null for a creation, a deletion and a snapshot. */
  previousState: TaskState | null;
  propletId: string | null;
  attempt: number;
  /** The task's error at that moment, its first 1000 characters. */
  error: string | null;
  /** When the change was made (the task's updated_at). */
  time: Date;
}

/** A proplet came alive or was found dead. */
export interface PropletEvent {
  propletId: string;
  alive: boolean;
  time: Date;
}
