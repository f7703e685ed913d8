type RedisArgument = unknown;

const SCRIPT_COMMANDS = new Set(['eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro']);
/** Commands whose first argument is a whole Lua script, shown by its place only. */
const INLINE_SCRIPTS = new Set(['eval', 'eval_ro']);

function shown(argument: RedisArgument): string {
  return typeof argument === 'string' || typeof argument === 'number' ? String(argument) : '?';
}

/**
 * A Redis command as a span shows it: its name and the keys it touches, never the values. A BullMQ script's
 * arguments are a job's data, which may hold a task's environment or its results.
 */
export function redisStatement(command: string, args: RedisArgument[]): string {
  const kept = SCRIPT_COMMANDS.has(command.toLowerCase())
    ? // script (or sha or function), the number of keys, the keys
      args.slice(0, 2 + Math.max(0, Number(args[1]) || 0))
    : args.slice(0, 1);
  const rest = args.length - kept.length;
  const words = kept.map(shown);
  if (INLINE_SCRIPTS.has(command.toLowerCase()) && words.length > 0) words[0] = '[script]';
  return [command, ...words, ...(rest > 0 ? [`[${rest} other arguments]`] : [])].join(' ');
}
