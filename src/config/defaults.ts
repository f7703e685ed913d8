/**
 * Identities used when neither the environment nor config.toml names them, so that a manager and a proplet
 * started on one machine with no configuration at all find each other.
 */
export const LOCAL_DEFAULTS = {
  tenantId: 'local-tenant',
  channelId: 'local-channel',
  entityId: 'propeller-manager',
  apiKey: '',
} as const;
