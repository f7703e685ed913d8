import { loadConfig, type Config } from '../../src/config/config.ts';
import {
  TEST_MQTT_PROTOCOL_VERSION,
  TEST_MQTT_URL,
  TEST_REDIS_URL,
  uniqueSuffix,
  type TestDatabase,
} from './test-database.ts';

/**
 * A configuration isolated from every other test run: its own database, queue prefix, MQTT tenant and
 * channel, and an ephemeral HTTP port. Liveness is fast so tests need not wait 25 seconds.
 */
export function testEnvironment(
  database: TestDatabase,
  env: Record<string, string> = {},
): Record<string, string> {
  const id = uniqueSuffix();
  return {
    MANAGER_INSTANCE_ID: `test-${id}`,
    MANAGER_LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'fatal',
    MANAGER_HTTP_PORT: '0',
    // Processes without the api serve /metrics on a port of their own: any free one, as tests run side by side.
    MANAGER_METRICS_PORT: '0',
    MANAGER_MQTT_ADDRESS: TEST_MQTT_URL,
    MANAGER_TENANT_ID: `tenant-${id}`,
    MANAGER_CHANNEL_ID: `channel-${id}`,
    MANAGER_ENTITY_ID: `manager-${id}`,
    MANAGER_MQTT_PROTOCOL_VERSION: String(TEST_MQTT_PROTOCOL_VERSION),
    MANAGER_POSTGRES_HOST: database.connection.host,
    MANAGER_POSTGRES_PORT: String(database.connection.port),
    MANAGER_POSTGRES_USER: database.connection.user,
    MANAGER_POSTGRES_PASS: database.connection.password,
    MANAGER_POSTGRES_DB: database.name,
    ...(TEST_REDIS_URL === undefined
      ? { MANAGER_QUEUE_STORE: 'postgres' }
      : { MANAGER_REDIS_URL: TEST_REDIS_URL }),
    MANAGER_QUEUE_PREFIX: `{test-${id}}`,
    MANAGER_PROPLET_ALIVE_TIMEOUT: '1500ms',
    MANAGER_START_TIMEOUT: '20s',
    ...env,
  };
}

export function testConfig(database: TestDatabase, env: Record<string, string> = {}): Config {
  return loadConfig(testEnvironment(database, env), '/nonexistent');
}
