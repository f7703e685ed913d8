import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import type { Express, RequestHandler } from 'express';
import type { Logger } from '../observability/logger.ts';
import { QUEUE_BOARD_PATH } from './page-paths.ts';
import { pagePolicy } from './security-headers.ts';
import { QUEUE_NAMES } from '../queue/catalog.ts';
import { createQueue, type QueueConnection } from '../queue/queue-connection.ts';

export const BULL_BOARD_PATH = QUEUE_BOARD_PATH;

export interface QueueBoard {
  /** Where the api serves it. */
  path: string;
  handler: RequestHandler;
  contentSecurityPolicy: string;
  /** Closes the board's queues (not the connection they share, on Redis). */
  close(): Promise<void>;
}

/**
 * Bull Board's page: its own scripts (its configuration is an inline JSON block, which is data, not script),
 * inline styles (React sets them, and its loading screen has a style element), and its stylesheet's
 * Google Fonts, which fall back to system fonts offline.
 */
const BOARD_POLICY = pagePolicy({
  // Its page sets <base href> to where it is mounted.
  'base-uri': "'self'",
  'script-src': "'self'",
  'style-src': "'self' 'unsafe-inline' https://fonts.googleapis.com",
  'font-src': "'self' https://fonts.gstatic.com",
  'img-src': "'self' data:",
  'connect-src': "'self'",
});

/**
 * On BullMQ's Postgres backend each Queue owns a pool. The board reads every queue each time its page
 * polls (every 5 s); with the producers' pools it would hold two dozen more connections per api process
 * while a page is open. One connection per queue serves a person looking; idle ones close after 10 s.
 */
const BOARD_POOL_SIZE = 1;

function boardConnection(connection: QueueConnection): QueueConnection {
  if (connection.store === 'redis') return connection;
  return { ...connection, postgres: { ...connection.postgres, max: BOARD_POOL_SIZE } };
}

/**
 * Bull Board over every queue of the catalog: jobs by state, with retry, clean and Bull Board's other
 * actions, or none of them when read-only (its API then refuses every change with 405). The queues may be
 * in Redis or in BullMQ's Postgres backend: Bull Board reads both through the same Queue API (createQueue
 * hands out Postgres queues typed as Redis ones, as their operations are the same).
 */
export function bullBoard(
  connection: QueueConnection,
  options: { readOnly: boolean; logger: Logger },
): QueueBoard {
  // Built on the first request for the board, not at start-up: an api whose board no one opens holds no
  // queues (nor, on Postgres, their connections), and an outage before then cannot leave the board's
  // queues with a failed bootstrap, which BullMQ's Postgres backend keeps for good.
  let built: { router: Express; queues: Queue[] } | undefined;
  const board = () => (built ??= buildBoard(connection, options));
  return {
    path: BULL_BOARD_PATH,
    handler: (req, res, next) => board().router(req, res, next),
    contentSecurityPolicy: BOARD_POLICY,
    close: async () => {
      if (built) await Promise.all(built.queues.map((queue) => queue.close()));
    },
  };
}

function buildBoard(
  connection: QueueConnection,
  options: { readOnly: boolean; logger: Logger },
): { router: Express; queues: Queue[] } {
  const queues = QUEUE_NAMES.map((name) => {
    const queue = createQueue(name, boardConnection(connection), {});
    // The page's request that met the error reports it; this is the connection's side of the story.
    queue.on('error', (error) =>
      options.logger.warn({ queue: name, err: error }, 'queue board connection error'),
    );
    return queue;
  });
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: queues.map(
      (queue) =>
        new BullMQAdapter(queue, { readOnlyMode: options.readOnly, allowRetries: !options.readOnly }),
    ),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Propeller queues' } },
  });
  const router = serverAdapter.getRouter() as Express;
  // Bull Board mounts an Express app of its own, which would announce itself as the main app does not.
  router.disable('x-powered-by');
  return { router, queues };
}
