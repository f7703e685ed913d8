import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt from 'mqtt';
import type pg from 'pg';
import { TEST_MQTT_URL } from '../../test/support/test-database.ts';
import { waitFor } from '../../test/support/wait.ts';
import { HttpClient } from '../lib/http-client.ts';
import type { Scenario } from '../lib/scenario.ts';

/** Discovery in rounds: a broker with the default queue limit (1,000 per client) drops a larger burst. */
const DISCOVERY_ROUND = 500;
export const FLEET_RUNTIME = 'bench-fleet';

/** Rows inserted, updated or deleted so far, by table (Postgres's statistics, about a second behind). */
async function tupleWrites(pool: pg.Pool): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ name: string; n: string }>(
    'SELECT relname AS name, n_tup_ins + n_tup_upd + n_tup_del AS n FROM pg_stat_user_tables',
  );
  return new Map(rows.map((row) => [row.name, Number(row.n)]));
}

/**
 * Each proplet row's version (xmin, the transaction that wrote it): a row written in a window, by any
 * statement, has another one after it. Exact, unlike the statistics, which a busy backend reports late.
 */
async function rowVersions(pool: pg.Pool): Promise<Map<string, string>> {
  const { rows } = await pool.query<{ id: string; version: string }>(
    'SELECT id, xmin::text AS version FROM proplets',
  );
  return new Map(rows.map((row) => [row.id, row.version]));
}

/** What each table gained between two readings, the tables that gained nothing left out. */
function writesBetween(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  return Object.fromEntries(
    [...after].map(([name, n]) => [name, n - (before.get(name) ?? 0)] as const).filter(([, n]) => n > 0),
  );
}

/**
 * Liveness at fleet scale, through the broker, the ingress and the liveness worker: many proplets announce
 * themselves and beat at the upstream interval, all published over one MQTT connection (the payload names
 * the proplet). The manager's CPU and the Postgres writes are measured in the steady state, once every
 * proplet is alive. The fleet goes on beating until the run ends, as stored-tasks and memory use the same
 * manager.
 */
export const fleet: Scenario = {
  name: 'fleet',
  summary: 'proplets (10,000; quick 1,000) heartbeating every 10 s (quick 1 s) over one MQTT connection',
  async run(context) {
    const count = context.size(10_000, 1_000);
    const intervalSeconds = context.quick ? 1 : 10;
    const steadySeconds = context.size(20, 4);
    const system = await context.longLivedManager({
      // Upstream's rule (2.5 intervals), but never under 5 s: on a loaded CI machine a 1 s beat can lag.
      MANAGER_PROPLET_ALIVE_TIMEOUT: `${Math.max(5, intervalSeconds * 2.5)}s`,
    });
    const http = new HttpClient(system.baseUrl, 2);
    context.defer(() => http.close());
    const base = `m/${system.topics.tenantId}/c/${system.topics.channelId}/control/proplet`;
    const ids = Array.from({ length: count }, () => randomUUID());
    const client = await mqtt.connectAsync(TEST_MQTT_URL, {
      clientId: `bench-fleet-${randomUUID()}`,
      reconnectPeriod: 0,
    });
    context.deferToEnd(() => client.endAsync());
    let beating = true;

    const metadata = {
      os: 'linux',
      cpu_arch: 'x86_64',
      total_memory_bytes: 1 << 30,
      wasm_runtime: FLEET_RUNTIME,
    };
    const discovered = async () => {
      const { rows } = await system.pool.query<{ n: string }>(
        "SELECT count(*) AS n FROM proplets WHERE metadata->>'wasm_runtime' = $1",
        [FLEET_RUNTIME],
      );
      return Number(rows[0]!.n);
    };
    context.say(`discovering ${count} proplets`);
    for (let from = 0; from < count; from += DISCOVERY_ROUND) {
      for (const id of ids.slice(from, from + DISCOVERY_ROUND))
        await client.publishAsync(
          `${base}/create`,
          JSON.stringify({ proplet_id: id, namespace: 'default', metadata }),
          { qos: 1 },
        );
      const expected = Math.min(count, from + DISCOVERY_ROUND);
      await waitFor(async () => (await discovered()) === expected, 'discovery applied', 60_000);
    }

    // Every proplet beats once per interval, spread evenly over it.
    const gapMs = (intervalSeconds * 1000) / count;
    let sent = 0;
    const beats = (async () => {
      const started = Date.now();
      for (let n = 0; beating; n++) {
        const due = started + n * gapMs;
        if (due > Date.now()) await sleep(due - Date.now());
        client.publish(
          `${base}/alive`,
          JSON.stringify({ proplet_id: ids[n % count], status: 'alive', namespace: 'default' }),
          { qos: 1 },
        );
        sent++;
      }
    })();
    // Clean-ups run last registered first: the beating stops before the connection closes.
    context.deferToEnd(async () => {
      beating = false;
      await beats;
    });
    const activeCount = async () =>
      (await http.json<{ total: number }>('GET', '/proplets?status=active&limit=1')).total;
    await waitFor(
      async () => (await activeCount()) >= count,
      'every proplet alive',
      (intervalSeconds + 60) * 1000,
    );
    await sleep(2_000);

    context.say(`steady state for ${steadySeconds} s`);
    const cpuBefore = system.usage().cpuSeconds;
    const writesBefore = await tupleWrites(system.pool);
    const sentBefore = sent;
    const versionsBefore = await rowVersions(system.pool);
    await sleep(steadySeconds * 1000);
    const cpu = system.usage().cpuSeconds - cpuBefore;
    const heartbeats = sent - sentBefore;
    const versionsAfter = await rowVersions(system.pool);
    const alive = await activeCount();
    // Postgres publishes its statistics about once a second.
    await sleep(1_500);
    const writesByTable = writesBetween(writesBefore, await tupleWrites(system.pool));
    const writes = Object.values(writesByTable).reduce((total, n) => total + n, 0);
    const propletRows = [...versionsAfter].filter(
      ([id, version]) => versionsBefore.get(id) !== version,
    ).length;
    const failures: string[] = [...system.deaths()];
    if (alive !== count)
      failures.push(`${alive} proplets active at the end of the steady state, not ${count}`);
    return {
      figures: [
        {
          key: 'managerCpuPercent',
          label: 'manager CPU, % of one core',
          value: Math.round((cpu / steadySeconds) * 1000) / 10,
          unit: '%',
          target: { op: '<=', value: 25 },
        },
        {
          key: 'propletRowsWrittenPerHeartbeat',
          label: 'proplet rows written per heartbeat',
          value: propletRows / heartbeats,
          unit: '',
          target: { op: '<=', value: 0 },
        },
        {
          key: 'alive',
          label: 'proplets active (all expected)',
          value: alive,
          unit: `of ${count}`,
          target: { op: '>=', value: count },
        },
      ],
      failures,
      notes: [
        `${count} proplets, ${Math.round(count / intervalSeconds)} heartbeats/s, steady window ${steadySeconds} s; proplet rows written in it (by row version): ${propletRows}; Postgres statistics (reported late by busy backends, so they include writes from before the window): ${writes} (${(writes / heartbeats).toFixed(4)} per heartbeat): ${JSON.stringify(writesByTable)}`,
      ],
      details: {
        proplets: count,
        intervalSeconds,
        steadySeconds,
        heartbeatsInWindow: heartbeats,
        managerCpuMicrosecondsPerHeartbeat: Math.round((cpu * 1e6) / heartbeats),
        propletRowsWritten: propletRows,
        databaseTupleWrites: writes,
        databaseTupleWritesByTable: writesByTable,
        managerRssMiB: system.usage().rssMiB,
      },
    };
  },
};
