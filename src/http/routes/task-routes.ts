import { Router } from 'express';
import type { InvocationService } from '../../services/invocation-service.ts';
import type { TaskBatchService } from '../../services/task-batch-service.ts';
import type { TaskService } from '../../services/task-service.ts';
import { methodNotAllowed } from '../errors.ts';
import { handle } from '../handle.ts';
import { jsonBody, optionalJsonBody } from '../json-body.ts';
import { requireUuid } from '../schemas/ids.ts';
import { parseMetadataFilter } from '../schemas/metadata-filter.ts';
import { parsePage } from '../schemas/pagination.ts';
import { invokeBody } from '../schemas/invoke-input.ts';
import { toAttemptJson } from '../schemas/attempt-view.ts';
import { createTaskBody, updateTaskBody } from '../schemas/task-input.ts';
import { toTaskJson } from '../schemas/task-view.ts';
import { parseOrThrow } from '../schemas/validation.ts';
import { readWasmUpload } from '../wasm-upload.ts';
import { addTaskBatchRoute } from './task-batch-routes.ts';

export function taskRoutes(
  tasks: TaskService,
  maxBodyBytes: number,
  invocations?: InvocationService,
  batches?: TaskBatchService,
): Router {
  const router = Router();
  const body = jsonBody(maxBodyBytes);
  if (batches) addTaskBatchRoute(router, batches, maxBodyBytes);

  router
    .route('/')
    .get(
      handle(async (req, res) => {
        const page = parsePage(req.query, { minLimit: 1, maxLimit: 100 });
        const metadata = parseMetadataFilter(req.query.metadata);
        const { tasks: found, total } = await tasks.list({ ...page, metadata });
        res.json({ ...page, total, tasks: found.map(toTaskJson) });
      }),
    )
    .post(
      ...body,
      handle(async (req, res) => {
        const task = await tasks.create(parseOrThrow(createTaskBody, req.body, 'task'));
        res.status(201).location(`/tasks/${task.id}`).json(toTaskJson(task));
      }),
    )
    .all(methodNotAllowed);

  router
    .route('/:taskId')
    .get(
      handle(async (req, res) => {
        res.json(toTaskJson(await tasks.get(requireUuid(req.params.taskId, 'task id'))));
      }),
    )
    .put(
      ...body,
      handle(async (req, res) => {
        const id = requireUuid(req.params.taskId, 'task id');
        res.json(toTaskJson(await tasks.update(id, parseOrThrow(updateTaskBody, req.body, 'task'))));
      }),
    )
    .delete(
      handle(async (req, res) => {
        await tasks.delete(requireUuid(req.params.taskId, 'task id'));
        res.status(204).end();
      }),
    )
    .all(methodNotAllowed);

  router
    .route('/:taskId/upload')
    .put(
      handle(async (req, res) => {
        const id = requireUuid(req.params.taskId, 'task id');
        // Only the file: an upload leaves the schedule and every other field as they are.
        const file = await readWasmUpload(req, maxBodyBytes);
        res.json(toTaskJson(await tasks.update(id, { file })));
      }),
    )
    .all(methodNotAllowed);

  router
    .route('/:taskId/start')
    .post(
      handle(async (req, res) => {
        await tasks.start(requireUuid(req.params.taskId, 'task id'));
        res.json({ started: true });
      }),
    )
    .all(methodNotAllowed);

  router
    .route('/:taskId/stop')
    .post(
      handle(async (req, res) => {
        await tasks.stop(requireUuid(req.params.taskId, 'task id'));
        res.json({ stopped: true });
      }),
    )
    .all(methodNotAllowed);

  router
    .route('/:taskId/attempts')
    .get(
      handle(async (req, res) => {
        const id = requireUuid(req.params.taskId, 'task id');
        res.json({ task_id: id, attempts: (await tasks.attempts(id)).map(toAttemptJson) });
      }),
    )
    .all(methodNotAllowed);

  router
    .route('/:taskId/results')
    .get(
      handle(async (req, res) => {
        res.json({ results: await tasks.results(requireUuid(req.params.taskId, 'task id')) });
      }),
    )
    .all(methodNotAllowed);

  if (invocations)
    router
      .route('/:taskId/invoke')
      .post(
        ...optionalJsonBody(maxBodyBytes),
        handle(async (req, res) => {
          const id = requireUuid(req.params.taskId, 'task id');
          const request = parseOrThrow(invokeBody, req.body, 'invocation');
          // A client that hangs up ends the wait: nobody is left to answer.
          const gone = new AbortController();
          res.on('close', () => {
            if (!res.writableFinished) gone.abort();
          });
          const results = await invocations.invoke(id, request, gone.signal);
          if (results !== undefined) res.json({ invoked: true, results });
        }),
      )
      .all(methodNotAllowed);

  return router;
}
