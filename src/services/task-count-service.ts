import type { TaskCountRepository } from '../db/task-count-repository.ts';
import { TaskState } from '../domain/task-state.ts';

export interface StateCount {
  state: TaskState;
  count: number;
}

/**
 * Tasks by state, for the dashboard. Every open dashboard asks every few seconds; one count per second at
 * most is shared by them all, since counting is a scan of the state index.
 */
export class TaskCountService {
  private cached?: { at: number; counts: Promise<StateCount[]> };

  constructor(
    private readonly repository: TaskCountRepository,
    private readonly maxAgeMs = 1_000,
  ) {}

  countsByState(now = Date.now()): Promise<StateCount[]> {
    if (this.cached && now - this.cached.at < this.maxAgeMs) return this.cached.counts;
    const counts = this.repository
      .byState()
      .then((found) => Object.values(TaskState).map((state) => ({ state, count: found.get(state) ?? 0 })));
    // A failed count is not kept: the next request tries again.
    void counts.catch(() => {
      if (this.cached?.counts === counts) this.cached = undefined;
    });
    this.cached = { at: now, counts };
    return counts;
  }
}
