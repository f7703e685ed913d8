import { isIP } from 'node:net';

/**
 * Names and addresses that only this machine reaches. Any 127.x.x.x is loopback; `localhost` is taken at
 * its word, as resolvers are required to keep it on loopback (RFC 6761).
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (bare === 'localhost' || bare === '::1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

/**
 * Without tokens anyone who reaches the HTTP port may do anything, so a process that binds one (the api,
 * or /metrics of a worker) may do so beyond this machine only when told to. The reason for refusing, or
 * undefined when the configuration is safe.
 */
export function unsafeExposure(options: {
  host: string;
  binds: boolean;
  hasTokens: boolean;
  allowInsecure: boolean;
}): string | undefined {
  const { host, binds, hasTokens, allowInsecure } = options;
  if (!binds || hasTokens || allowInsecure || isLoopbackHost(host)) return undefined;
  return (
    `MANAGER_HTTP_HOST: ${host} is not a loopback address and no API tokens are configured; ` +
    'set MANAGER_API_TOKENS or MANAGER_API_TOKENS_FILE, or MANAGER_ALLOW_INSECURE=true to serve without authentication'
  );
}
