import type { GroupRepository } from '../db/group-repository.ts';
import { ConflictError, NotFoundError } from '../domain/errors.ts';
import type { Task } from '../domain/task.ts';
import type { TaskState } from '../domain/task-state.ts';
import { assembleGroup, type GroupTaskInput } from './group-assembly.ts';
import type { StartMessageLimit } from './start-message-limit.ts';

/**
 * Workflows: tasks created together with dependencies among them. Nothing starts on its own: the client
 * starts the tasks that depend on nothing, and each finished task lets its dependents go on (see
 * ProgressionService).
 */
export class WorkflowService {
  constructor(
    private readonly groups: GroupRepository,
    private readonly startLimit: StartMessageLimit,
  ) {}

  async create(inputs: readonly GroupTaskInput[]): Promise<{ workflowId: string; tasks: Task[] }> {
    const { groupId, tasks } = assembleGroup(inputs, 'workflow', this.startLimit);
    const created = await this.groups.insert(tasks);
    if (created === 'exists') throw new ConflictError('a task with one of these ids exists already');
    return { workflowId: groupId, tasks: created };
  }

  async get(id: string): Promise<{ workflowId: string; state: TaskState; tasks: Task[] }> {
    const group = { kind: 'workflow', id } as const;
    const tasks = await this.groups.tasksOf(group);
    if (tasks.length === 0) throw new NotFoundError(`workflow ${id} not found`);
    return { workflowId: id, state: await this.groups.stateOf(group), tasks };
  }
}
