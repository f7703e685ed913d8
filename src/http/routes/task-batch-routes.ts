import type { Router } from 'express';
import type { TaskBatchService } from '../../services/task-batch-service.ts';
import { methodNotAllowed } from '../errors.ts';
import { handle } from '../handle.ts';
import { jsonBody } from '../json-body.ts';
import { createTaskBatchBody } from '../schemas/task-batch-input.ts';
import { toTaskJson } from '../schemas/task-view.ts';
import { parseOrThrow } from '../schemas/validation.ts';

/**
 * POST /tasks/batch, added to the task routes' own router before `/:taskId`, so that `batch` is never read as
 * a task id. Not a router of its own on /tasks: OpenTelemetry's Express instrumentation then names every task
 * route's span twice over (`POST /tasks/tasks/:taskId/start`).
 */
export function addTaskBatchRoute(router: Router, batches: TaskBatchService, maxBodyBytes: number): void {
  router
    .route('/batch')
    .post(
      ...jsonBody(maxBodyBytes),
      handle(async (req, res) => {
        const { tasks, start } = parseOrThrow(createTaskBatchBody, req.body, 'batch');
        const created = await batches.create(tasks, { start });
        res.status(201).json({ tasks: created.map(toTaskJson) });
      }),
    )
    .all(methodNotAllowed);
}
