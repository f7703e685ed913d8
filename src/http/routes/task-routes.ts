import { Router } from 'express';
import type { TaskService } from '../../services/task-service.ts';
import { methodNotAllowed } from '../errors.ts';
import { handle } from '../handle.ts';
import { jsonBody } from '../json-body.ts';
import { requireUuid } from '../schemas/ids.ts';
import { parseMetadataFilter } from '../schemas/metadata-filter.ts';
import { parsePage } from '../schemas/pagination.ts';
import { createTaskBody, updateTaskBody } from '../schemas/task-input.ts';
import { toTaskJson } from '../schemas/task-view.ts';
import { parseOrThrow } from '../schemas/validation.ts';
import { readWasmUpload } from '../wasm-upload.ts';

export function taskRoutes(tasks: TaskService, maxBodyBytes: number): Router {
  const router = Router();
  const body = jsonBody(maxBodyBytes);

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
    .route('/:taskId/results')
    .get(
      handle(async (req, res) => {
        res.json({ results: await tasks.results(requireUuid(req.params.taskId, 'task id')) });
      }),
    )
    .all(methodNotAllowed);

  return router;
}
