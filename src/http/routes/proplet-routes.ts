import { Router } from 'express';
import { ValidationError } from '../../domain/errors.ts';
import type { PropletService, PropletStatus } from '../../services/proplet-service.ts';
import { methodNotAllowed } from '../errors.ts';
import { handle } from '../handle.ts';
import { requireIdentifier, requireUuid } from '../schemas/ids.ts';
import { parseOpenPage } from '../schemas/pagination.ts';
import { propletSdf } from '../schemas/proplet-sdf.ts';
import { toPropletJson } from '../schemas/proplet-view.ts';

function parseStatus(raw: unknown): PropletStatus | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (raw === 'active' || raw === 'inactive') return raw;
  throw new ValidationError("invalid value provided: status must be 'active' or 'inactive'");
}

export function propletRoutes(proplets: PropletService): Router {
  const router = Router();

  router
    .route('/')
    .get(
      handle(async (req, res) => {
        const page = parseOpenPage(req.query);
        const status = parseStatus(req.query.status);
        const { proplets: found, total } = await proplets.list({ ...page, status });
        res.json({ ...page, total, proplets: found.map(toPropletJson) });
      }),
    )
    .all(methodNotAllowed);

  router
    .route('/:propletId')
    .get(
      handle(async (req, res) => {
        res.json(toPropletJson(await proplets.get(requireUuid(req.params.propletId, 'proplet id'))));
      }),
    )
    .delete(
      handle(async (req, res) => {
        await proplets.delete(requireUuid(req.params.propletId, 'proplet id'));
        res.status(204).end();
      }),
    )
    .all(methodNotAllowed);

  router
    .route('/:propletId/sdf')
    .get(
      handle(async (req, res) => {
        res.json(propletSdf(await proplets.get(requireUuid(req.params.propletId, 'proplet id'))));
      }),
    )
    .all(methodNotAllowed);

  router
    .route('/:propletId/alive-history')
    .get(
      handle(async (req, res) => {
        const id = requireIdentifier(req.params.propletId, 'proplet id');
        const page = parseOpenPage(req.query);
        const { history, total } = await proplets.aliveHistory(id, page);
        res.json({ ...page, total, history: history.map((at) => at.toISOString()) });
      }),
    )
    .all(methodNotAllowed);

  return router;
}
