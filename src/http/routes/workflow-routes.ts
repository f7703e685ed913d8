import { Router } from 'express';
import type { WorkflowService } from '../../services/workflow-service.ts';
import { methodNotAllowed } from '../errors.ts';
import { handle } from '../handle.ts';
import { jsonBody } from '../json-body.ts';
import { createWorkflowBody } from '../schemas/group-input.ts';
import { toWorkflowJson } from '../schemas/group-view.ts';
import { requireUuid } from '../schemas/ids.ts';
import { toTaskJson } from '../schemas/task-view.ts';
import { parseOrThrow } from '../schemas/validation.ts';

export function workflowRoutes(workflows: WorkflowService, maxBodyBytes: number): Router {
  const router = Router();

  router
    .route('/')
    .post(
      ...jsonBody(maxBodyBytes),
      handle(async (req, res) => {
        const body = parseOrThrow(createWorkflowBody, req.body, 'workflow');
        const { workflowId, tasks } = await workflows.create(body.tasks);
        res
          .status(201)
          .location(`/workflows/${workflowId}`)
          .json({ workflow_id: workflowId, tasks: tasks.map(toTaskJson) });
      }),
    )
    .all(methodNotAllowed);

  router
    .route('/:workflowId')
    .get(
      handle(async (req, res) => {
        res.json(toWorkflowJson(await workflows.get(requireUuid(req.params.workflowId, 'workflow id'))));
      }),
    )
    .all(methodNotAllowed);

  return router;
}
