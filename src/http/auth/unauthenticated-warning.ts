import type { Config } from '../../config/config.ts';
import type { Logger } from '../../observability/logger.ts';

/**
 * Said once at start-up by whatever serves HTTP without tokens, so that an API open to anyone who reaches
 * it is never so by surprise.
 */
export function warnIfUnauthenticated(config: Config, logger: Logger, what: string, port: number): void {
  if (config.auth.tokens.length > 0) return;
  logger.warn(
    { host: config.http.host, port, allowInsecure: config.auth.allowInsecure },
    `${what} is unauthenticated: anyone who reaches ${config.http.host}:${port} may use it (set MANAGER_API_TOKENS or MANAGER_API_TOKENS_FILE to require tokens)`,
  );
}
