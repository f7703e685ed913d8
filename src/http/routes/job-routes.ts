import { Router } from 'express';
import { ValidationError } from '../../domain/errors.ts';
import { TaskState } from '../../domain/task-state.ts';
import type { JobService } from '../../services/job-service.ts';
import { methodNotAllowed } from '../errors.ts';
import { handle } from '../handle.ts';
import { jsonBody } from '../json-body.ts';
import { createJobBody } from '../schemas/group-input.ts';
import { toJobJson } from '../schemas/group-view.ts';
import { requireUuid } from '../schemas/ids.ts';
import { parseOpenPage } from '../schemas/pagination.ts';
import { toTaskJson } from '../schemas/task-view.ts';
import { parseOrThrow } from '../schemas/validation.ts';

/** `?status=` as upstream names job states. A Map: `?status=constructor` must find nothing. */
const STATUSES = new Map<string, TaskState>([
  ['pending', TaskState.Pending],
  ['running', TaskState.Running],
  ['completed', TaskState.Completed],
  ['failed', TaskState.Failed],
]);

function parseStatus(raw: unknown): TaskState | undefined {
  if (raw === undefined || raw === '') return undefined;
  const state = typeof raw === 'string' ? STATUSES.get(raw) : undefined;
  if (state === undefined)
    throw new ValidationError(
      `invalid query parameters: status must be one of ${[...STATUSES.keys()].join(', ')}`,
    );
  return state;
}

export function jobRoutes(jobs: JobService, maxBodyBytes: number): Router {
  const router = Router();

  router
    .route('/')
    .get(
      handle(async (req, res) => {
        const page = parseOpenPage(req.query);
        const { jobs: found, total } = await jobs.list({ ...page, state: parseStatus(req.query.status) });
        res.json({ ...page, total, jobs: found.map(toJobJson) });
      }),
    )
    .post(
      ...jsonBody(maxBodyBytes),
      handle(async (req, res) => {
        const body = parseOrThrow(createJobBody, req.body, 'job');
        const { jobId, tasks } = await jobs.create({
          name: body.name ?? '',
          executionMode: body.execution_mode || undefined,
          tasks: body.tasks,
        });
        res
          .status(201)
          .location(`/jobs/${jobId}`)
          .json({ job_id: jobId, tasks: tasks.map(toTaskJson) });
      }),
    )
    .all(methodNotAllowed);

  router
    .route('/:jobId')
    // Upstream answers 201 here; its own SDK expects 200 (Decision 2).
    .get(
      handle(async (req, res) => {
        res.json(toJobJson(await jobs.get(requireUuid(req.params.jobId, 'job id'))));
      }),
    )
    .all(methodNotAllowed);

  router
    .route('/:jobId/start')
    .post(
      handle(async (req, res) => {
        const id = requireUuid(req.params.jobId, 'job id');
        await jobs.start(id);
        res.json({ message: 'job started', job_id: id });
      }),
    )
    .all(methodNotAllowed);

  router
    .route('/:jobId/stop')
    .post(
      handle(async (req, res) => {
        const id = requireUuid(req.params.jobId, 'job id');
        await jobs.stop(id);
        res.json({ message: 'job stopped', job_id: id });
      }),
    )
    .all(methodNotAllowed);

  return router;
}
