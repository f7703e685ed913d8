import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { LOCAL_DEFAULTS } from '../../src/config/defaults.ts';
import { parseDurationMs } from '../../src/config/duration.ts';
import { formatByteSize, parseByteSize } from '../../src/config/variable-types.ts';
import { ROLES } from '../../src/config/roles.ts';

const tempDirs: string[] = [];

/** A working directory of its own, holding config.toml when `toml` is given. */
function workDir(toml?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'manager-config-'));
  tempDirs.push(dir);
  if (toml !== undefined) writeFileSync(join(dir, 'config.toml'), toml);
  return dir;
}

after(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** Asserts that loading fails with a ConfigError whose message names `variable`. */
function assertConfigError(env: Record<string, string>, variable: string): void {
  assert.throws(
    () => loadConfig(env, workDir()),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
      assert.equal(error.name, 'ConfigError');
      assert.match(error.message, new RegExp(variable));
      return true;
    },
  );
}

describe('parseDurationMs', () => {
  it('reads Go-style durations', () => {
    assert.equal(parseDurationMs('25s'), 25_000);
    assert.equal(parseDurationMs('4s'), 4_000);
    assert.equal(parseDurationMs('10m'), 600_000);
    assert.equal(parseDurationMs('1m30s'), 90_000);
    assert.equal(parseDurationMs('500ms'), 500);
    assert.equal(parseDurationMs('1h'), 3_600_000);
    assert.equal(parseDurationMs('1.5s'), 1_500);
    assert.equal(parseDurationMs('1h2m3s4ms'), 3_723_004);
  });

  it('reads a bare number as seconds', () => {
    assert.equal(parseDurationMs('10'), 10_000);
    assert.equal(parseDurationMs('0.25'), 250);
    assert.equal(parseDurationMs('0'), 0);
  });

  it('ignores surrounding whitespace', () => {
    assert.equal(parseDurationMs('  30s '), 30_000);
  });

  it('returns undefined for text that is not a duration', () => {
    for (const text of ['', 'abc', '10x', 's', '-5s', '5 s', '1m30', 'ms10', '1.s', '10sm', 'Infinity']) {
      assert.equal(parseDurationMs(text), undefined, `'${text}'`);
    }
  });
});

describe('loadConfig', () => {
  it('applies the defaults when the environment is empty', () => {
    const config = loadConfig({ PATH: '' }, workDir());
    assert.deepEqual(config.http, { host: '127.0.0.1', port: 7070 });
    assert.equal(config.mqtt.qos, 1);
    assert.equal(config.mqtt.timeoutMs, 30_000);
    assert.equal(config.mqtt.shareGroup, 'propeller-ingress');
    assert.equal(config.propletAliveTimeoutMs, 25_000);
    assert.equal(config.startTimeoutMs, 600_000);
    assert.equal(config.taskTimeoutMs, undefined);
    assert.equal(config.shutdownTimeoutMs, 30_000);
    assert.equal(config.queuePrefix, '{propeller}');
    assert.equal(config.logLevel, 'info');
    assert.equal(config.postgres.port, 5432);
    assert.equal(config.postgres.sslmode, 'disable');
    assert.deepEqual([...config.roles].sort(), [...ROLES].sort());
    assert.equal(config.roles.size, 5);
    assert.equal(typeof config.instanceId, 'string');
    assert.ok(config.instanceId.length > 0);
  });

  it('names a stand-in for each service the environment does not name', () => {
    const cwd = workDir();
    const config = loadConfig({ PATH: '' }, cwd);
    assert.deepEqual(config.standIns, { postgres: true, broker: true, redis: false });
    assert.equal(config.queueStore, 'postgres', 'no Redis configured and none on the PATH');
    assert.equal(config.mqtt.protocolVersion, 4, 'the embedded broker speaks MQTT 3.1.1');
    assert.equal(config.embeddedProplets, 1);
    assert.equal(config.dataDir, join(cwd, 'data'));
  });

  it('uses configured services as they are, and no stand-in for them', () => {
    const config = loadConfig(
      {
        MANAGER_POSTGRES_HOST: 'db.example',
        MANAGER_REDIS_URL: 'redis://cache.example:6379',
        MANAGER_MQTT_ADDRESS: 'tcp://broker.example:1883',
      },
      workDir(),
    );
    assert.deepEqual(config.standIns, { postgres: false, broker: false, redis: false });
    assert.equal(config.postgres.host, 'db.example');
    assert.equal(config.redis.url, 'redis://cache.example:6379');
    assert.equal(config.mqtt.url, 'mqtt://broker.example:1883');
    assert.equal(config.mqtt.protocolVersion, 5);
    assert.equal(config.queueStore, 'redis');
    assert.equal(config.embeddedProplets, 0, 'proplets of their own reach a configured broker');
  });

  it('runs a private Redis when one is on the PATH and none is configured', () => {
    const bin = mkdtempSync(join(tmpdir(), 'propeller-bin-'));
    const server = join(bin, 'redis-server');
    writeFileSync(server, '#!/bin/sh\n');
    chmodSync(server, 0o755);
    const config = loadConfig({ PATH: `/nonexistent:${bin}` }, workDir());
    assert.equal(config.queueStore, 'redis');
    assert.deepEqual(config.standIns, { postgres: true, broker: true, redis: true });
    assert.equal(config.redis.serverBinary, server);
    assert.equal(
      loadConfig({ PATH: bin, MANAGER_QUEUE_STORE: 'postgres' }, workDir()).queueStore,
      'postgres',
    );
  });

  it('refuses MANAGER_QUEUE_STORE=redis with no Redis to use', () => {
    assertConfigError({ PATH: '', MANAGER_QUEUE_STORE: 'redis' }, 'MANAGER_QUEUE_STORE');
  });

  it('waits 30 s for an invocation, under a 60 s HTTP write timeout, and refuses a wait as long as it', () => {
    const config = loadConfig({}, workDir());
    assert.equal(config.invokeTimeoutMs, 30_000);
    assert.equal(config.httpWriteTimeoutMs, 60_000);
    assert.equal(loadConfig({ MANAGER_INVOKE_TIMEOUT: '2s' }, workDir()).invokeTimeoutMs, 2_000);
    assertConfigError({ MANAGER_INVOKE_TIMEOUT: '60s' }, 'MANAGER_INVOKE_TIMEOUT');
    assertConfigError(
      { MANAGER_INVOKE_TIMEOUT: '20s', MANAGER_HTTP_SERVER_WRITE_TIMEOUT: '15s' },
      'MANAGER_HTTP_SERVER_WRITE_TIMEOUT',
    );
  });

  it('uses the local identities when neither the environment nor config.toml names them', () => {
    const { mqtt } = loadConfig({}, workDir());
    assert.equal(mqtt.tenantId, LOCAL_DEFAULTS.tenantId);
    assert.equal(mqtt.channelId, LOCAL_DEFAULTS.channelId);
    assert.equal(mqtt.entityId, LOCAL_DEFAULTS.entityId);
    assert.equal(mqtt.apiKey, LOCAL_DEFAULTS.apiKey);
  });

  it('reads the values given in the environment', () => {
    const config = loadConfig(
      {
        MANAGER_INSTANCE_ID: 'manager-7',
        MANAGER_HTTP_HOST: '0.0.0.0',
        // Beyond loopback without tokens only when asked for (see test/unit/api-tokens.test.ts).
        MANAGER_ALLOW_INSECURE: 'true',
        MANAGER_HTTP_PORT: '8080',
        MANAGER_MQTT_QOS: '2',
        MANAGER_PROPLET_ALIVE_TIMEOUT: '4s',
        MANAGER_START_TIMEOUT: '1m30s',
        MANAGER_TASK_TIMEOUT: '2m',
        MANAGER_QUEUE_PREFIX: '{pm}:test',
        MANAGER_LOG_LEVEL: 'debug',
        MANAGER_METRICS_RETENTION: '2h',
        MANAGER_METRICS_MAX_SAMPLES: '50',
      },
      workDir(),
    );
    assert.deepEqual(config.metrics, { retentionMs: 7_200_000, maxSamples: 50 });
    assert.equal(config.instanceId, 'manager-7');
    assert.deepEqual(config.http, { host: '0.0.0.0', port: 8080 });
    assert.equal(config.mqtt.qos, 2);
    assert.equal(config.propletAliveTimeoutMs, 4_000);
    assert.equal(config.startTimeoutMs, 90_000);
    assert.equal(config.taskTimeoutMs, 120_000);
    assert.equal(config.queuePrefix, '{pm}:test');
    assert.equal(config.logLevel, 'debug');
  });

  it('holds 4 ingress sessions on MQTT 5, as many as asked for, and 1 where there are no shared subscriptions', () => {
    const broker = { MANAGER_MQTT_ADDRESS: 'tcp://broker.example:1883' };
    assert.equal(loadConfig(broker, workDir()).ingressSessions, 4);
    assert.equal(loadConfig({ ...broker, MANAGER_INGRESS_SESSIONS: '12' }, workDir()).ingressSessions, 12);
    const legacy = { ...broker, MANAGER_MQTT_PROTOCOL_VERSION: '4', MANAGER_INGRESS_SESSIONS: '8' };
    assert.equal(loadConfig(legacy, workDir()).ingressSessions, 1);
    // The embedded broker (aedes) speaks MQTT 3.1.1 only.
    assert.equal(loadConfig({ MANAGER_INGRESS_SESSIONS: '8' }, workDir()).ingressSessions, 1);
    for (const bad of ['0', '33', 'many'])
      assertConfigError({ ...broker, MANAGER_INGRESS_SESSIONS: bad }, 'MANAGER_INGRESS_SESSIONS');
  });

  it('accepts port 0 (an ephemeral port) and QoS 0', () => {
    const config = loadConfig({ MANAGER_HTTP_PORT: '0', MANAGER_MQTT_QOS: '0' }, workDir());
    assert.equal(config.http.port, 0);
    assert.equal(config.mqtt.qos, 0);
  });

  describe('MQTT address', () => {
    const cases: [string, string][] = [
      ['tcp://broker:1883', 'mqtt://broker:1883'],
      ['ssl://broker:8883', 'mqtts://broker:8883'],
      ['tls://broker:8883', 'mqtts://broker:8883'],
      ['mqtt://broker:1883', 'mqtt://broker:1883'],
      ['mqtts://broker:8883', 'mqtts://broker:8883'],
      ['ws://broker:9001', 'ws://broker:9001'],
    ];
    for (const [address, url] of cases) {
      it(`turns ${address} into ${url}`, () => {
        assert.equal(loadConfig({ MANAGER_MQTT_ADDRESS: address }, workDir()).mqtt.url, url);
      });
    }

    it('rejects an address without a scheme', () => {
      assertConfigError({ MANAGER_MQTT_ADDRESS: 'localhost:1883' }, 'MANAGER_MQTT_ADDRESS');
    });
  });

  describe('MANAGER_ROLES', () => {
    it('reads a comma list, ignoring spaces and empty items', () => {
      const { roles } = loadConfig({ MANAGER_ROLES: ' api, scheduler ,,' }, workDir());
      assert.deepEqual([...roles].sort(), ['api', 'scheduler']);
    });

    it("reads 'all' as every role", () => {
      const { roles } = loadConfig({ MANAGER_ROLES: 'all' }, workDir());
      assert.deepEqual([...roles].sort(), [...ROLES].sort());
    });

    it('reads a single role', () => {
      const { roles } = loadConfig({ MANAGER_ROLES: 'liveness' }, workDir());
      assert.deepEqual([...roles], ['liveness']);
    });

    it('rejects an unknown role', () => {
      assertConfigError({ MANAGER_ROLES: 'api,frontend' }, 'MANAGER_ROLES');
    });

    it('rejects a list with no role in it', () => {
      assertConfigError({ MANAGER_ROLES: ' , ' }, 'MANAGER_ROLES');
    });

    it('lets the roles override win over the environment', () => {
      const { roles } = loadConfig({ MANAGER_ROLES: 'api' }, workDir(), { roles: 'results,ingress' });
      assert.deepEqual([...roles].sort(), ['ingress', 'results']);
    });

    it('checks the roles override like the environment', () => {
      assert.throws(() => loadConfig({}, workDir(), { roles: 'nope' }), /MANAGER_ROLES/);
    });
  });

  describe('bad values name the variable', () => {
    const cases: [string, string][] = [
      ['MANAGER_HTTP_PORT', 'http'],
      ['MANAGER_HTTP_PORT', '65536'],
      ['MANAGER_HTTP_PORT', '-1'],
      ['MANAGER_HTTP_PORT', '80.5'],
      ['MANAGER_PROPLET_ALIVE_TIMEOUT', 'soon'],
      ['MANAGER_PROPLET_ALIVE_TIMEOUT', '0s'],
      ['MANAGER_START_TIMEOUT', '10 minutes'],
      ['MANAGER_TASK_TIMEOUT', 'forever'],
      ['MANAGER_MQTT_QOS', '3'],
      ['MANAGER_MQTT_QOS', 'one'],
      ['MANAGER_QUEUE_PREFIX', 'propeller'],
      ['MANAGER_QUEUE_PREFIX', '{}'],
      ['MANAGER_QUEUE_PREFIX', 'x{propeller}'],
      ['MANAGER_LOG_LEVEL', 'verbose'],
      ['MANAGER_REDIS_URL', 'http://127.0.0.1:6379'],
      ['MANAGER_POSTGRES_SSLMODE', 'sometimes'],
      ['MANAGER_HTTP_HOST', '   '],
      ['MANAGER_METRICS_RETENTION', 'a day'],
      ['MANAGER_METRICS_MAX_SAMPLES', '0'],
      ['MANAGER_METRICS_MAX_SAMPLES', 'many'],
    ];
    for (const [variable, value] of cases) {
      it(`${variable}='${value}'`, () => {
        assertConfigError({ [variable]: value }, variable);
      });
    }

    it('treats an empty variable as unset, as upstream does', () => {
      const config = loadConfig({ MANAGER_HTTP_PORT: '', MANAGER_TENANT_ID: '' }, workDir(''));
      assert.equal(config.http.port, 7070);
      assert.equal(config.mqtt.tenantId, LOCAL_DEFAULTS.tenantId);
    });

    it('lists every bad variable at once', () => {
      assert.throws(
        () => loadConfig({ MANAGER_HTTP_PORT: 'x', MANAGER_MQTT_QOS: '9' }, workDir()),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.message.includes('MANAGER_HTTP_PORT') &&
          error.message.includes('MANAGER_MQTT_QOS'),
      );
    });
  });

  describe('config.toml', () => {
    const toml = [
      '[proplet]',
      'tenant_id = "proplet-tenant"',
      '',
      '[manager]',
      'tenant_id = "toml-tenant"',
      'channel_id = "toml-channel"',
      'entity_id = "toml-entity"',
      'api_key = "toml-key"',
      '',
    ].join('\n');

    it('supplies identities the environment lacks, from the [manager] section', () => {
      const { mqtt } = loadConfig({}, workDir(toml));
      assert.equal(mqtt.tenantId, 'toml-tenant');
      assert.equal(mqtt.channelId, 'toml-channel');
      assert.equal(mqtt.entityId, 'toml-entity');
      assert.equal(mqtt.apiKey, 'toml-key');
    });

    it('lets the environment win over config.toml', () => {
      const { mqtt } = loadConfig(
        { MANAGER_TENANT_ID: 'env-tenant', MANAGER_API_KEY: 'env-key' },
        workDir(toml),
      );
      assert.equal(mqtt.tenantId, 'env-tenant');
      assert.equal(mqtt.apiKey, 'env-key');
      assert.equal(mqtt.channelId, 'toml-channel');
      assert.equal(mqtt.entityId, 'toml-entity');
    });

    it('reads the API key from config.toml when only it is missing from the environment', () => {
      const { mqtt } = loadConfig(
        {
          MANAGER_TENANT_ID: 'env-tenant',
          MANAGER_CHANNEL_ID: 'env-channel',
          MANAGER_ENTITY_ID: 'env-entity',
        },
        workDir(toml),
      );
      assert.equal(mqtt.apiKey, 'toml-key');
      assert.equal(mqtt.tenantId, 'env-tenant');
    });

    it('falls back to the local defaults for keys config.toml does not have', () => {
      const { mqtt } = loadConfig({}, workDir('[manager]\ntenant_id = "only-tenant"\n'));
      assert.equal(mqtt.tenantId, 'only-tenant');
      assert.equal(mqtt.channelId, LOCAL_DEFAULTS.channelId);
      assert.equal(mqtt.entityId, LOCAL_DEFAULTS.entityId);
      assert.equal(mqtt.apiKey, LOCAL_DEFAULTS.apiKey);
    });

    it('uses the local defaults when config.toml has no [manager] section', () => {
      const { mqtt } = loadConfig({}, workDir('[proplet]\ntenant_id = "proplet-tenant"\n'));
      assert.equal(mqtt.tenantId, LOCAL_DEFAULTS.tenantId);
    });

    it('is not needed when the environment names every identity', () => {
      const { mqtt } = loadConfig(
        {
          MANAGER_TENANT_ID: 'env-tenant',
          MANAGER_CHANNEL_ID: 'env-channel',
          MANAGER_ENTITY_ID: 'env-entity',
          MANAGER_API_KEY: 'env-key',
        },
        workDir('this is [not toml'),
      );
      assert.deepEqual(
        [mqtt.tenantId, mqtt.channelId, mqtt.entityId],
        ['env-tenant', 'env-channel', 'env-entity'],
      );
    });

    it('reports an invalid [manager] section', () => {
      assert.throws(() => loadConfig({}, workDir('[manager]\ntenant_id = 42\n')), /config\.toml/);
    });
  });
});

describe('sizes: MANAGER_HTTP_MAX_BODY and MANAGER_PROPLET_MAX_PACKET_SIZE', () => {
  it('reads byte counts and sizes with units, binary and decimal', () => {
    assert.equal(parseByteSize('1048576'), 1_048_576);
    assert.equal(parseByteSize('512KiB'), 512 * 1024);
    assert.equal(parseByteSize('10MiB'), 10 * 1024 * 1024);
    assert.equal(parseByteSize('1GiB'), 1024 ** 3);
    assert.equal(parseByteSize('1.5 MiB'), 1.5 * 1024 * 1024);
    assert.equal(parseByteSize('2mb'), 2_000_000);
    assert.equal(parseByteSize(' 64kib '), 65_536);
    for (const text of ['', 'MiB', '10 MiBs', '-1', '1e9', '10 XB', '0x10'])
      assert.equal(parseByteSize(text), undefined, text);
  });

  it('says sizes in binary units when they are whole ones', () => {
    assert.equal(formatByteSize(10 * 1024 * 1024), '10 MiB');
    assert.equal(formatByteSize(512 * 1024), '512 KiB');
    assert.equal(formatByteSize(1024 ** 3), '1 GiB');
    assert.equal(formatByteSize(1000), '1000 bytes');
  });

  it('defaults both to 10 MiB, and takes other sizes', () => {
    const defaults = loadConfig({}, workDir());
    assert.equal(defaults.httpMaxBodyBytes, 10 * 1024 * 1024);
    assert.equal(defaults.propletMaxPacketBytes, 10 * 1024 * 1024);
    const set = loadConfig(
      { MANAGER_HTTP_MAX_BODY: '512KiB', MANAGER_PROPLET_MAX_PACKET_SIZE: '1048576' },
      workDir(),
    );
    assert.equal(set.httpMaxBodyBytes, 512 * 1024);
    assert.equal(set.propletMaxPacketBytes, 1_048_576);
  });

  it('stops start-up naming the variable for a size it cannot read or that is out of bounds', () => {
    for (const value of ['ten megs', '0', '10', '2GiB'])
      assertConfigError({ MANAGER_HTTP_MAX_BODY: value }, 'MANAGER_HTTP_MAX_BODY');
    // MQTT packets hold at most 256 MiB.
    for (const value of ['big', '512', '257MiB'])
      assertConfigError({ MANAGER_PROPLET_MAX_PACKET_SIZE: value }, 'MANAGER_PROPLET_MAX_PACKET_SIZE');
  });
});
