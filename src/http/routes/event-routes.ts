import { Router } from 'express';
import type { EventStreams } from '../event-streams.ts';
import { methodNotAllowed } from '../errors.ts';
import { handle } from '../handle.ts';
import { parseEventStreamRequest } from '../schemas/event-query.ts';

/** GET /events: the server-sent-events stream of task (and proplet) changes. */
export function eventRoutes(streams: EventStreams): Router {
  const router = Router();
  router
    .route('/')
    .get(
      handle(async (req, res) => {
        // HEAD would hold a stream open that can carry nothing.
        if (req.method === 'HEAD') {
          res.status(200).type('text/event-stream').end();
          return;
        }
        const request = parseEventStreamRequest(req.query, req.get('last-event-id'));
        await streams.open(res, request);
      }),
    )
    .all(methodNotAllowed);
  return router;
}
