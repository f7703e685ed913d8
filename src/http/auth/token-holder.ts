import type { Response } from 'express';
import type { TokenHolder } from './token-verifier.ts';

const HOLDER = 'tokenHolder';

/** Records who the request authenticated as, for the request log and the rate limit. */
export function setTokenHolder(res: Response, holder: TokenHolder): void {
  res.locals[HOLDER] = holder;
}

/** Who the request authenticated as; undefined without tokens configured, or before authentication. */
export function tokenHolderOf(res: Response): TokenHolder | undefined {
  return res.locals[HOLDER] as TokenHolder | undefined;
}
