/**
 * The SDK's defaults from the environment of the program that uses it (PROPELLER_MANAGER_URL,
 * PROPELLER_TOKEN, as upstream's CLI reads them). It runs in a client's process, not the manager's, so
 * src/config (the manager's settings) does not apply; this file is the one place the SDK reads process.env.
 */
export function environmentDefaults(): { baseUrl?: string; token?: string } {
  const baseUrl = process.env.PROPELLER_MANAGER_URL?.trim();
  const token = process.env.PROPELLER_TOKEN?.trim();
  return { ...(baseUrl ? { baseUrl } : {}), ...(token ? { token } : {}) };
}
