/** A configuration the manager cannot start with; its message names the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}
