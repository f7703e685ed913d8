import type { Task } from '../../src/domain/task.ts';
import { TaskState } from '../../src/domain/task-state.ts';

/** A stored task with every optional field empty; tests override what they look at. */
export function makeTask(overrides: Partial<Task> = {}): Task {
  const createdAt = new Date('2026-01-02T03:04:05.678Z');
  return {
    id: '6f1c1a2e-3b4d-4c5e-8f90-123456789abc',
    name: 'add',
    kind: 'standard',
    state: TaskState.Pending,
    imageUrl: null,
    file: null,
    fileSize: 0,
    cliArgs: null,
    inputs: null,
    env: null,
    daemon: false,
    latent: false,
    encrypted: false,
    kbsResourcePath: null,
    requestedPropletId: null,
    propletId: null,
    dependsOn: null,
    runIf: null,
    workflowId: null,
    jobId: null,
    results: null,
    error: null,
    monitoringProfile: null,
    mode: null,
    schedule: null,
    isRecurring: false,
    timezone: null,
    nextRun: null,
    broadcast: false,
    priority: 50,
    metadata: null,
    halStoragePath: null,
    timeoutSeconds: null,
    position: null,
    attempt: 0,
    startTime: null,
    finishTime: null,
    createdAt,
    updatedAt: createdAt,
    ...overrides,
  };
}
