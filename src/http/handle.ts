import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** Adapts an async route handler: a rejection goes to the error handler instead of floating away. */
export function handle(fn: (req: Request, res: Response) => Promise<void>): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    fn(req, res).catch(next);
  };
}
