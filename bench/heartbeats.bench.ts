/**
 * Cost of liveness at fleet scale: many proplets announcing themselves and beating at the upstream
 * interval, through the broker, the ingress and the liveness worker. Reports the manager's CPU and the
 * proplet rows written in the steady state, after every proplet has come alive once (design goal: none).
 *
 * The manager runs as `npm start` does, in its own process; one MQTT client here publishes on behalf of
 * every simulated proplet (the payload names the proplet).
 *
 *   node --import tsx bench/heartbeats.bench.ts [proplets=10000] [intervalSeconds=10] [steadySeconds=20]
 */
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import mqtt from 'mqtt';
import pg from 'pg';
import { loadConfig } from '../src/config/config.ts';
import { discardIngressSessions } from '../test/support/manager-harness.ts';
import { deleteKeysWithPrefix } from '../test/support/redis-cleanup.ts';
import { testEnvironment } from '../test/support/test-config.ts';
import { createTestDatabase, TEST_MQTT_URL, TEST_POSTGRES } from '../test/support/test-database.ts';
import { waitFor } from '../test/support/wait.ts';
import { freePort } from '../test/support/free-port.ts';
import { processUsage, spawnManager } from './manager-process.ts';

const [propletCount = 10_000, intervalSeconds = 10, steadySeconds = 20] = process.argv.slice(2).map(Number);
async function main(): Promise<void> {
  const database = await createTestDatabase();
  const env = testEnvironment(database, {
    MANAGER_HTTP_PORT: String(await freePort()),
    MANAGER_PROPLET_ALIVE_TIMEOUT: `${intervalSeconds * 2.5}s`,
    MANAGER_LOG_LEVEL: 'warn',
  });
  const manager = spawnManager(env);
  const baseUrl = `http://127.0.0.1:${env.MANAGER_HTTP_PORT}`;
  const base = `m/${env.MANAGER_TENANT_ID}/c/${env.MANAGER_CHANNEL_ID}/control/proplet`;
  const ids = Array.from({ length: propletCount }, () => randomUUID());
  const pool = new pg.Pool({ ...TEST_POSTGRES, database: database.name, max: 1 });
  const client = await mqtt.connectAsync(TEST_MQTT_URL, { clientId: `bench-fleet-${randomUUID()}` });
  let beating = true;
  try {
    await waitFor(async () => (await fetch(`${baseUrl}/health`)).ok, 'manager up', 30_000);
    // Discovery in rounds of 500: a broker with the default queue limit (1,000 per client) drops a larger burst.
    const metadata = { os: 'linux', cpu_arch: 'x86_64', total_memory_bytes: 1 << 30, wasm_runtime: 'bench' };
    const discovered = async () => {
      const { rows } = await pool.query<{ n: string }>(
        "SELECT count(*) AS n FROM proplets WHERE metadata->>'wasm_runtime' = 'bench'",
      );
      return Number(rows[0]!.n);
    };
    for (let from = 0; from < propletCount; from += 500) {
      for (const id of ids.slice(from, from + 500)) {
        const payload = JSON.stringify({ proplet_id: id, namespace: 'default', metadata });
        await client.publishAsync(`${base}/create`, payload, { qos: 1 });
      }
      const expected = Math.min(propletCount, from + 500);
      await waitFor(async () => (await discovered()) === expected, 'discovery applied', 60_000);
    }
    // Every proplet beats once per interval, spread evenly over it.
    const gapMs = (intervalSeconds * 1000) / propletCount;
    const beats = (async () => {
      const started = Date.now();
      for (let n = 0; beating; n++) {
        const due = started + n * gapMs;
        if (due > Date.now()) await sleep(due - Date.now());
        const id = ids[n % propletCount]!;
        client.publish(
          `${base}/alive`,
          JSON.stringify({ proplet_id: id, status: 'alive', namespace: 'default' }),
          { qos: 1 },
        );
      }
    })();
    await waitFor(
      async () => {
        const list = (await (await fetch(`${baseUrl}/proplets?status=active&limit=0`)).json()) as {
          total: number;
        };
        return list.total === propletCount;
      },
      'every proplet alive',
      (intervalSeconds + 60) * 1000,
    );
    await sleep(2_000);

    const cpuBefore = processUsage(manager.pid!).cpuSeconds;
    const windowStart = new Date();
    await sleep(steadySeconds * 1000);
    const cpu = processUsage(manager.pid!).cpuSeconds - cpuBefore;
    const written = await pool.query<{ n: string }>(
      'SELECT count(*) AS n FROM proplets WHERE updated_at >= $1 OR last_alive_at >= $1',
      [windowStart],
    );
    const alive = (await (await fetch(`${baseUrl}/proplets?status=active&limit=0`)).json()) as {
      total: number;
    };
    beating = false;
    await beats;

    console.log(
      JSON.stringify(
        {
          proplets: propletCount,
          intervalSeconds,
          heartbeatsPerSecond: Math.round(propletCount / intervalSeconds),
          steadySeconds,
          managerCpuCores: +(cpu / steadySeconds).toFixed(3),
          managerCpuMicrosecondsPerHeartbeat: Math.round(
            (cpu * 1e6) / ((propletCount / intervalSeconds) * steadySeconds),
          ),
          propletRowsWrittenInSteadyState: Number(written.rows[0]!.n),
          aliveAtEnd: alive.total,
          managerRssMiB: processUsage(manager.pid!).rssMiB,
        },
        null,
        2,
      ),
    );
  } finally {
    beating = false;
    await client.endAsync();
    manager.kill('SIGTERM');
    await once(manager, 'exit');
    await pool.end();
    await database.drop();
    await discardIngressSessions(loadConfig(env, '/nonexistent'));
    await deleteKeysWithPrefix(env.MANAGER_QUEUE_PREFIX!);
  }
}

await main();
