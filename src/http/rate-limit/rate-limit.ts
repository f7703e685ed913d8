import type { Request, RequestHandler, Response } from 'express';
import type { RateLimit } from '../../config/config.ts';
import { tokenHolderOf } from '../auth/token-holder.ts';
import { TokenBuckets } from './token-buckets.ts';

/** Reads change nothing and are not limited. */
const LIMITED_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Who a request is counted against: its token's name once authenticated, else its address (without tokens
 * configured, and for the login form). Token names cannot hold a colon, so the two never collide.
 */
function clientKey(req: Request, res: Response): string {
  const holder = tokenHolderOf(res);
  return holder ? `token:${holder.name}` : `address:${req.socket.remoteAddress ?? 'unknown'}`;
}

/**
 * MANAGER_RATE_LIMIT on changes (POST, PUT, PATCH, DELETE): 429 with Retry-After, in whole seconds, once
 * a client has used its burst. Counted in this process only: behind a load balancer over n api processes a
 * client may make up to n times as many.
 */
export function rateLimit(limit: RateLimit, buckets = new TokenBuckets(limit)): RequestHandler {
  return (req, res, next) => {
    if (!LIMITED_METHODS.has(req.method)) {
      next();
      return;
    }
    const take = buckets.take(clientKey(req, res));
    if (take.allowed) {
      next();
      return;
    }
    const seconds = Math.max(1, Math.ceil(take.retryAfterMs / 1_000));
    res
      .status(429)
      .set('Retry-After', String(seconds))
      .json({ error: `rate limit of ${limit.text} changes exceeded; retry in ${seconds} s` });
  };
}
