import { count } from 'drizzle-orm';
import type { TaskState } from '../domain/task-state.ts';
import type { Database } from './connection.ts';
import { tasks } from './schema.ts';

export class TaskCountRepository {
  constructor(private readonly db: Database) {}

  /** How many tasks are in each state (states with none are absent); served by the state index. */
  async byState(): Promise<Map<TaskState, number>> {
    const rows = await this.db
      .select({ state: tasks.state, count: count() })
      .from(tasks)
      .groupBy(tasks.state);
    return new Map(rows.map((row) => [row.state as TaskState, row.count]));
  }
}
