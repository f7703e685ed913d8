import { ConfigError } from './config.ts';
import { isRole } from './roles.ts';

/**
 * `tsx src/main.ts [role…]`: roles on the command line take precedence over MANAGER_ROLES. Read by main and
 * by the tracing preload, which names the process's roles in its spans before main runs.
 */
export function rolesFromArgs(args: string[]): string | undefined {
  if (args.length === 0) return undefined;
  for (const arg of args) {
    if (arg !== 'all' && !isRole(arg)) throw new ConfigError(`unknown role '${arg}' on the command line`);
  }
  return args.join(',');
}
