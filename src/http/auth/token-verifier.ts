import { timingSafeEqual } from 'node:crypto';
import { sha256, type ApiToken } from '../../config/api-tokens.ts';
import type { AccessRole } from '../../domain/access.ts';

/** Who a valid token belongs to; what requests carry past authentication (never the token). */
export interface TokenHolder {
  name: string;
  role: AccessRole;
}

/**
 * Checks a presented token against the configured ones. The presented token is hashed, and its digest
 * compared in constant time with every configured digest, all of them every time: neither the time taken
 * nor an early exit tells which token matched, how far a guess got, or how many tokens there are to try.
 * Comparing fixed-length digests also hides the length of the tokens.
 */
export class TokenVerifier {
  private readonly tokens: readonly ApiToken[];

  constructor(tokens: readonly ApiToken[]) {
    if (tokens.length === 0) throw new Error('a token verifier needs at least one token');
    this.tokens = tokens;
  }

  verify(presented: string): TokenHolder | undefined {
    const digest = sha256(presented);
    let holder: TokenHolder | undefined;
    for (const token of this.tokens) {
      const equal = timingSafeEqual(digest, token.digest);
      if (equal && holder === undefined) holder = { name: token.name, role: token.role };
    }
    return holder;
  }
}
