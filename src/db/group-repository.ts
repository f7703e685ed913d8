import { and, asc, desc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { GroupRef } from '../domain/group.ts';
import type { NewTask, Task } from '../domain/task.ts';
import { TaskState, TRANSITIONS } from '../domain/task-state.ts';
import type { Database } from './connection.ts';
import { jobs, tasks } from './schema.ts';
import { fromSummary, summaryColumns } from './task-repository.ts';

export interface JobRecord {
  id: string;
  name: string;
  executionMode: string;
  createdAt: Date;
}

/** What a plan does to a group's tasks, all in the transaction that holds them. */
export interface GroupChanges {
  /** Every task back to Pending first, as before its first run (a finished job started again). */
  reset?: boolean;
  /** Pending → Scheduled. */
  schedule?: readonly string[];
  /** Pending → Skipped. */
  skip?: readonly string[];
  /** Pending → Failed, saying why. */
  fail?: ReadonlyArray<{ id: string; error: string }>;
}

/** A task moved to Scheduled: its start job is to be queued. */
export interface ScheduledTask {
  id: string;
  attempt: number;
  priority: number;
}

const groupColumn = (group: GroupRef) => (group.kind === 'job' ? tasks.jobId : tasks.workflowId);

/**
 * The state of a group from its tasks' states, as upstream computes a job's: any Failed or Interrupted →
 * Failed; else any Scheduled or Running → Running; else all Completed or Skipped → Completed; else Pending
 * (a group with no tasks too).
 */
function groupState(state: SQL): SQL<number> {
  return sql<number>`CASE
    WHEN count(${state}) = 0 THEN ${TaskState.Pending}
    WHEN bool_or(${state} IN (${TaskState.Failed}, ${TaskState.Interrupted})) THEN ${TaskState.Failed}
    WHEN bool_or(${state} IN (${TaskState.Scheduled}, ${TaskState.Running})) THEN ${TaskState.Running}
    WHEN bool_and(${state} IN (${TaskState.Completed}, ${TaskState.Skipped})) THEN ${TaskState.Completed}
    ELSE ${TaskState.Pending} END`.mapWith(Number);
}

/** Workflows and jobs: their tasks created together, read together and advanced together. */
export class GroupRepository {
  constructor(private readonly db: Database) {}

  /**
   * Inserts the tasks (and the job they belong to) in one transaction: all or none. 'exists' when the job
   * id or one of the task ids is taken.
   */
  async insert(
    newTasks: ReadonlyArray<NewTask & { id: string }>,
    job?: { id: string; name: string; executionMode: string },
  ): Promise<Task[] | 'exists'> {
    try {
      return await this.db.transaction(async (tx) => {
        const now = new Date();
        if (job) await tx.insert(jobs).values({ ...job, createdAt: now, updatedAt: now });
        const rows = await tx
          .insert(tasks)
          .values(
            newTasks.map((task) => ({
              ...task,
              file: task.file ? Buffer.from(task.file) : null,
              createdAt: now,
              updatedAt: now,
            })),
          )
          .returning(summaryColumns);
        const byId = new Map(rows.map((row) => [row.id, fromSummary(row)]));
        return newTasks.map((task) => byId.get(task.id)!);
      });
    } catch (error) {
      if ((error as { cause?: { code?: string } }).cause?.code === '23505') return 'exists';
      throw error;
    }
  }

  /** Records a job named only by the job_id of a task created on its own, as upstream lists such jobs too. */
  async ensureJob(id: string, executionMode: string): Promise<void> {
    await this.db.insert(jobs).values({ id, executionMode }).onConflictDoNothing();
  }

  async findJob(id: string): Promise<JobRecord | undefined> {
    const [row] = await this.db
      .select({
        id: jobs.id,
        name: jobs.name,
        executionMode: jobs.executionMode,
        createdAt: jobs.createdAt,
      })
      .from(jobs)
      .where(eq(jobs.id, id));
    return row;
  }

  /** The group's tasks in list order, without Wasm bytes. */
  async tasksOf(group: GroupRef): Promise<Task[]> {
    const rows = await this.db
      .select(summaryColumns)
      .from(tasks)
      .where(eq(groupColumn(group), group.id))
      .orderBy(asc(tasks.position), asc(tasks.createdAt), asc(tasks.id));
    return rows.map(fromSummary);
  }

  /** Ids of the tasks among `ids` that exist in the group. */
  async existingIn(group: GroupRef, ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.db
      .select({ id: tasks.id })
      .from(tasks)
      .where(and(eq(groupColumn(group), group.id), inArray(tasks.id, [...ids])));
    return new Set(rows.map((row) => row.id));
  }

  async stateOf(group: GroupRef): Promise<TaskState> {
    const [row] = await this.db
      .select({ state: groupState(sql`${tasks.state}`) })
      .from(tasks)
      .where(eq(groupColumn(group), group.id));
    return (row?.state ?? TaskState.Pending) as TaskState;
  }

  /** Newest first, each with its state computed from its tasks; `state` filters on it. */
  async listJobs(page: {
    offset: number;
    limit: number;
    state?: TaskState;
  }): Promise<{ jobs: Array<JobRecord & { state: TaskState }>; total: number }> {
    const summaries = this.db
      .select({
        id: jobs.id,
        name: jobs.name,
        executionMode: jobs.executionMode,
        createdAt: jobs.createdAt,
        state: groupState(sql`${tasks.state}`).as('state'),
      })
      .from(jobs)
      .leftJoin(tasks, eq(tasks.jobId, jobs.id))
      .groupBy(jobs.id)
      .as('summaries');
    const filter = page.state === undefined ? undefined : eq(summaries.state, page.state);
    const rows = await this.db
      .select()
      .from(summaries)
      .where(filter)
      .orderBy(desc(summaries.createdAt), asc(summaries.id))
      .offset(page.offset)
      .limit(page.limit);
    const [counted] = await this.db
      .select({ total: sql<number>`count(*)`.mapWith(Number) })
      .from(summaries)
      .where(filter);
    return {
      jobs: rows.map((row) => ({ ...row, state: row.state as TaskState })),
      total: counted?.total ?? 0,
    };
  }

  /** The tasks of each of these jobs, in list order. */
  async tasksOfJobs(ids: readonly string[]): Promise<Map<string, Task[]>> {
    const byJob = new Map(ids.map((id) => [id, [] as Task[]]));
    if (ids.length === 0) return byJob;
    const rows = await this.db
      .select(summaryColumns)
      .from(tasks)
      .where(inArray(tasks.jobId, [...ids]))
      .orderBy(asc(tasks.position), asc(tasks.createdAt), asc(tasks.id));
    for (const row of rows) byJob.get(row.jobId!)?.push(fromSummary(row));
    return byJob;
  }

  /**
   * Locks the group's tasks, lets `plan` decide from their states, and applies its changes before anyone
   * else can change them: evaluations of one group by several workers take their turns, and each change is
   * conditional on the state the plan saw. `plan` may throw to change nothing.
   */
  async change<T>(
    group: GroupRef,
    plan: (current: Task[]) => { changes: GroupChanges; outcome: T },
  ): Promise<{ outcome: T; scheduled: ScheduledTask[] }> {
    return this.db.transaction(async (tx) => {
      // Locked in id order, as every other statement on several tasks would take them, so none deadlocks.
      await tx.execute(
        sql`SELECT id FROM tasks WHERE ${eq(groupColumn(group), group.id)} ORDER BY id FOR UPDATE`,
      );
      const rows = await tx
        .select(summaryColumns)
        .from(tasks)
        .where(eq(groupColumn(group), group.id))
        .orderBy(asc(tasks.position), asc(tasks.createdAt), asc(tasks.id));
      const { changes, outcome } = plan(rows.map(fromSummary));
      const now = new Date();

      if (changes.reset) {
        await tx
          .update(tasks)
          .set({
            state: TaskState.Pending,
            propletId: null,
            results: null,
            error: null,
            scheduledAt: null,
            startTime: null,
            finishTime: null,
            updatedAt: now,
          })
          .where(eq(groupColumn(group), group.id));
      }
      const scheduled =
        changes.schedule && changes.schedule.length > 0
          ? await tx
              .update(tasks)
              .set({
                state: TRANSITIONS.advance.to,
                attempt: sql`${tasks.attempt} + 1`,
                scheduledAt: now,
                results: null,
                error: null,
                startTime: null,
                finishTime: null,
                updatedAt: now,
              })
              .where(
                and(
                  inArray(tasks.id, [...changes.schedule]),
                  inArray(tasks.state, [...TRANSITIONS.advance.from]),
                ),
              )
              .returning({ id: tasks.id, attempt: tasks.attempt, priority: tasks.priority })
          : [];
      if (changes.skip && changes.skip.length > 0) {
        await tx
          .update(tasks)
          .set({ state: TRANSITIONS.skip.to, finishTime: now, updatedAt: now })
          .where(and(inArray(tasks.id, [...changes.skip]), inArray(tasks.state, [...TRANSITIONS.skip.from])));
      }
      for (const refused of changes.fail ?? []) {
        await tx
          .update(tasks)
          .set({ state: TRANSITIONS.refuse.to, error: refused.error, finishTime: now, updatedAt: now })
          .where(and(eq(tasks.id, refused.id), inArray(tasks.state, [...TRANSITIONS.refuse.from])));
      }
      return { outcome, scheduled };
    });
  }

  /** Scheduled tasks of the group, whose start jobs should exist. */
  async scheduledIn(group: GroupRef): Promise<ScheduledTask[]> {
    return this.db
      .select({ id: tasks.id, attempt: tasks.attempt, priority: tasks.priority })
      .from(tasks)
      .where(and(eq(groupColumn(group), group.id), eq(tasks.state, TaskState.Scheduled)));
  }

  /**
   * Groups that wait with nothing under way: a task Pending, none Scheduled or Running, one finished. A
   * group whose progress was queued and lost (the queue was away when its last task finished) looks so;
   * evaluating one that merely waits for the client changes nothing.
   */
  async stalledGroups(limit: number): Promise<GroupRef[]> {
    const { rows } = await this.db.execute<{ kind: GroupRef['kind']; id: string }>(sql`
      SELECT CASE WHEN job_id IS NOT NULL THEN 'job' ELSE 'workflow' END AS kind,
             coalesce(job_id, workflow_id) AS id
      FROM tasks
      WHERE coalesce(job_id, workflow_id) IN (
        SELECT coalesce(job_id, workflow_id) FROM tasks
        WHERE state = ${TaskState.Pending} AND (job_id IS NOT NULL OR workflow_id IS NOT NULL))
      GROUP BY 1, 2
      HAVING NOT bool_or(state IN (${TaskState.Scheduled}, ${TaskState.Running}))
        AND bool_or(state IN (${TaskState.Completed}, ${TaskState.Failed}, ${TaskState.Skipped}, ${TaskState.Interrupted}))
      LIMIT ${limit}`);
    return rows.map((row) => ({ kind: row.kind, id: row.id }));
  }

  /** Completed parents' results by id, for the start message of a task that depends on them. */
  async parentResults(parentIds: readonly string[]): Promise<Record<string, unknown>> {
    if (parentIds.length === 0) return {};
    const rows = await this.db
      .select({ id: tasks.id, results: tasks.results })
      .from(tasks)
      .where(and(inArray(tasks.id, [...parentIds]), eq(tasks.state, TaskState.Completed)));
    return Object.fromEntries(rows.map((row) => [row.id, row.results ?? null]));
  }
}
