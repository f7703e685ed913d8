import type { GroupRepository, JobRecord } from '../db/group-repository.ts';
import { ConflictError, NotFoundError, UnavailableError, ValidationError } from '../domain/errors.ts';
import { entryTasks, type ExecutionMode } from '../domain/progression.ts';
import type { Task } from '../domain/task.ts';
import { TaskState } from '../domain/task-state.ts';
import type { TaskRepository } from '../db/task-repository.ts';
import type { Logger } from '../observability/logger.ts';
import type { JobQueues } from '../queue/job-queues.ts';
import { assembleGroup, type GroupTaskInput } from './group-assembly.ts';
import type { StartMessageLimit } from './start-message-limit.ts';
import { queueStart } from './task-queueing.ts';
import { startProblem, type TaskService } from './task-service.ts';

export interface JobSummary extends JobRecord {
  state: TaskState;
  tasks: Task[];
}

const busy = (task: Task) => task.state === TaskState.Scheduled || task.state === TaskState.Running;

/**
 * Jobs: tasks run together in an execution mode (spec §2.6). Starting a job starts its entry tasks; the
 * rest follows as tasks finish (ProgressionService), failing fast when one fails.
 */
export class JobService {
  constructor(
    private readonly groups: GroupRepository,
    private readonly taskRepository: TaskRepository,
    private readonly tasks: TaskService,
    private readonly queues: JobQueues,
    private readonly defaultMode: ExecutionMode,
    private readonly logger: Logger,
    private readonly startLimit: StartMessageLimit,
  ) {}

  async create(input: {
    name: string;
    executionMode?: ExecutionMode | undefined;
    tasks: readonly GroupTaskInput[];
  }): Promise<{ jobId: string; tasks: Task[] }> {
    const { groupId, tasks } = assembleGroup(input.tasks, 'job', this.startLimit);
    const job = { id: groupId, name: input.name, executionMode: input.executionMode ?? this.defaultMode };
    const created = await this.groups.insert(tasks, job);
    if (created === 'exists')
      throw new ConflictError('the job, or a task with one of these ids, exists already');
    return { jobId: groupId, tasks: created };
  }

  async get(id: string): Promise<JobSummary> {
    const job = await this.groups.findJob(id);
    if (!job) throw new NotFoundError(`job ${id} not found`);
    const group = { kind: 'job', id } as const;
    const [tasks, state] = await Promise.all([this.groups.tasksOf(group), this.groups.stateOf(group)]);
    return { ...job, state, tasks };
  }

  async list(page: {
    offset: number;
    limit: number;
    state?: TaskState;
  }): Promise<{ jobs: JobSummary[]; total: number }> {
    const { jobs, total } = await this.groups.listJobs(page);
    const tasksByJob = await this.groups.tasksOfJobs(jobs.map((job) => job.id));
    return { total, jobs: jobs.map((job) => ({ ...job, tasks: tasksByJob.get(job.id) ?? [] })) };
  }

  /**
   * Starts the job's entry tasks. Every task must be startable, so a job never stops halfway for a missing
   * binary; a finished job starts again from the beginning; a running one is a conflict.
   */
  async start(id: string): Promise<void> {
    const job = await this.groups.findJob(id);
    if (!job) throw new NotFoundError(`job ${id} not found`);
    const mode = job.executionMode as ExecutionMode;
    const { scheduled } = await this.groups.change({ kind: 'job', id }, (current) => {
      if (current.length === 0) throw new ConflictError(`job ${id} has no tasks`);
      const running = current.filter(busy).length;
      if (running > 0)
        throw new ConflictError(`job ${id} is already running (${running} tasks scheduled or running)`);
      for (const task of current) {
        const problem = startProblem(task);
        if (problem) throw new ValidationError(`task ${task.id} (${task.name}) cannot start: ${problem}`);
      }
      const reset = current.some((task) => task.state !== TaskState.Pending);
      const entries = entryTasks({ tasks: current, mode });
      return { changes: { reset, schedule: entries }, outcome: undefined };
    });
    const now = new Date();
    try {
      for (const task of scheduled) await queueStart(this.queues, task, now);
    } catch (error) {
      for (const task of scheduled) await this.taskRepository.unscheduleToPending(task.id, task.attempt);
      this.logger.error({ jobId: id, err: error }, 'could not queue the start of a job');
      throw new UnavailableError('the task queue is unavailable; the job was not started, try again');
    }
    // Tasks reset to Pending whose parents are gone are skipped at once, not left waiting for an event.
    await this.queues.enqueue('group-progress', 'advance', { group: 'job', id });
    this.logger.info({ jobId: id, started: scheduled.map((task) => task.id) }, 'job started');
  }

  /**
   * Stops what runs and skips what waits. The waiting tasks are skipped first, so that stopping the running
   * ones (which fails them) does not set off failure handlers.
   */
  async stop(id: string): Promise<void> {
    const job = await this.groups.findJob(id);
    if (!job) throw new NotFoundError(`job ${id} not found`);
    const { outcome: running } = await this.groups.change({ kind: 'job', id }, (current) => ({
      changes: {
        skip: current.filter((task) => task.state === TaskState.Pending).map((task) => task.id),
      },
      outcome: current.filter(busy),
    }));
    for (const task of running) {
      await this.tasks.stop(task.id).catch((error: unknown) => {
        if (!(error instanceof ConflictError)) throw error;
      });
    }
    this.logger.info({ jobId: id, stopped: running.map((task) => task.id) }, 'job stopped');
  }
}
