import { z } from 'zod';
import { ROLES, isRole, type Role } from './roles.ts';
import { durationMs, integerIn, logLevel, mqttAddress, mqttQos } from './variable-types.ts';

const roles = z
  .string()
  .default(ROLES.join(','))
  .transform((text, ctx) => {
    const names = text
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name !== '');
    const unknown = names.filter((name) => name !== 'all' && !isRole(name));
    if (unknown.length > 0 || names.length === 0) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a comma list of ${ROLES.join(', ')} (or all), got '${text}'`,
      });
      return z.NEVER;
    }
    return new Set<Role>(names.includes('all') ? ROLES : (names as Role[]));
  });

const nonEmpty = (fallback: string) => z.string().trim().min(1, 'must not be empty').default(fallback);

/**
 * Every variable the manager reads, with its default. Names follow upstream Propeller where it has one.
 * The keys are the variable names, so a validation error names the variable.
 */
export const environmentSchema = z.object({
  MANAGER_INSTANCE_ID: z.string().trim().min(1).optional(),
  MANAGER_ROLES: roles,
  MANAGER_LOG_LEVEL: logLevel,
  MANAGER_HTTP_HOST: nonEmpty('127.0.0.1'),
  MANAGER_HTTP_PORT: integerIn(7070, 0, 65535),
  MANAGER_MQTT_ADDRESS: mqttAddress,
  MANAGER_MQTT_QOS: mqttQos,
  MANAGER_MQTT_TIMEOUT: durationMs('30s'),
  MANAGER_MQTT_SHARE_GROUP: nonEmpty('propeller-ingress'),
  MANAGER_TENANT_ID: z.string().trim().min(1).optional(),
  MANAGER_CHANNEL_ID: z.string().trim().min(1).optional(),
  MANAGER_ENTITY_ID: z.string().trim().min(1).optional(),
  MANAGER_API_KEY: z.string().optional(),
  MANAGER_POSTGRES_HOST: nonEmpty('127.0.0.1'),
  MANAGER_POSTGRES_PORT: integerIn(5432, 1, 65535),
  MANAGER_POSTGRES_USER: nonEmpty('postgres'),
  MANAGER_POSTGRES_PASS: z.string().default(''),
  MANAGER_POSTGRES_DB: nonEmpty('propeller'),
  MANAGER_POSTGRES_SSLMODE: z
    .enum(['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'])
    .default('disable'),
  MANAGER_POSTGRES_POOL_SIZE: integerIn(10, 1, 500),
  MANAGER_REDIS_URL: z
    .string()
    .default('redis://127.0.0.1:6379')
    .refine((text) => /^rediss?:\/\//.test(text), { message: 'expected a redis:// or rediss:// URL' }),
  MANAGER_QUEUE_PREFIX: z
    .string()
    .default('{propeller}')
    .refine((text) => /^\{[^{}]+\}/.test(text), {
      message: 'expected a prefix starting with a Redis Cluster hash tag, such as {propeller}',
    }),
  MANAGER_PROPLET_ALIVE_TIMEOUT: durationMs('25s'),
  MANAGER_START_TIMEOUT: durationMs('10m'),
  MANAGER_SHUTDOWN_TIMEOUT: durationMs('30s'),
  /** Reference proplets to run inside the manager process, on its tenant and channel. */
  MANAGER_EMBEDDED_PROPLETS: integerIn(0, 0, 64),
});

export type Environment = z.infer<typeof environmentSchema>;
