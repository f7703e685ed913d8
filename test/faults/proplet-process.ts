import { appendFileSync } from 'node:fs';
import mqtt from 'mqtt';
import { startMessage, stopMessage } from '../../src/mqtt/outbound-payloads.ts';
import { expectedResult, type PropletEvent } from './proplet-log.ts';
import { Random, seedOf } from './random.ts';

/**
 * A simulated proplet in a process of its own, so the suite can kill it with SIGKILL mid-task. It speaks the
 * upstream protocol over MQTT 5 (spec §3): discovery at start-up, a heartbeat every second, an offline last
 * will, starts and stops filtered by proplet_id. A run "takes" 20–300 ms and reports the sum of the task's
 * inputs, so every proplet reports the same value for the same task. Some publish each result twice, and
 * now and then once more seconds later: the manager must apply a task's result once.
 *
 * Configured by the environment (FAULTS_PROPLET_*); a restarted proplet has the same id and has forgotten
 * its runs, like a rebooted device.
 */
const env = process.env;
const id = env.FAULTS_PROPLET_ID!;
const logFile = env.FAULTS_PROPLET_LOG!;
const base = `m/${env.FAULTS_TENANT_ID!}/c/${env.FAULTS_CHANNEL_ID!}`;
/** Chance that a result is published twice; of those, the chance of a third copy 2–5 s later. */
const duplicateRate = Number(env.FAULTS_PROPLET_DUPLICATES ?? '0');
const lateDuplicateRate = 0.25;
const random = new Random(seedOf(`${id}:${process.pid}`, Number(env.FAULTS_SEED ?? '1')));

type Omitted<T> = T extends unknown ? Omit<T, 'at' | 'proplet'> : never;

/** Logged before acting on it: a line says at most that the act was about to happen. */
function log(event: Omitted<PropletEvent>): void {
  appendFileSync(logFile, `${JSON.stringify({ at: Date.now(), proplet: id, ...event })}\n`);
}

log({ event: 'hello', pid: process.pid });

const client = mqtt.connect(env.FAULTS_MQTT_URL!, {
  clientId: id,
  username: id,
  protocolVersion: 5,
  clean: true,
  // The broker restarts within seconds: reconnect soon, as the Rust proplet's backoff starts at 1 s.
  reconnectPeriod: 500,
  connectTimeout: 2_000,
  keepalive: 5,
  will: {
    topic: `${base}/control/proplet/alive`,
    payload: Buffer.from(JSON.stringify({ status: 'offline', proplet_id: id })),
    qos: 1,
    retain: false,
  },
});

const publish = (suffix: string, payload: unknown) =>
  client.publishAsync(`${base}/${suffix}`, JSON.stringify(payload), { qos: 1 }).catch(() => undefined);

const runs = new Map<string, NodeJS.Timeout>();
let announced = false;

client.on('connect', () => {
  log({ event: 'connected' });
  void client
    .subscribeAsync([`${base}/control/manager/start`, `${base}/control/manager/stop`], { qos: 1 })
    .then(() => {
      // Upstream proplets announce themselves once per start-up, not on every reconnect.
      if (announced) return;
      announced = true;
      return publish('control/proplet/create', {
        proplet_id: id,
        namespace: 'default',
        metadata: {
          environment: 'binary',
          os: 'linux',
          hostname: 'faults-sim',
          cpu_arch: 'x86_64',
          total_memory_bytes: 8221675520,
          proplet_version: '0.0.0-faults',
          wasm_runtime: 'simulated',
        },
      });
    })
    .catch(() => undefined);
});
client.on('error', () => undefined);

// Only while connected: a heartbeat queued offline and sent after a reconnect says nothing about now.
setInterval(() => {
  if (client.connected)
    void publish('control/proplet/alive', { proplet_id: id, status: 'alive', namespace: 'default' });
}, 1_000);

function publishResult(task: string, results: string, copy: number): void {
  log({ event: 'result', task, results, copy });
  void publish('control/proplet/results', { task_id: task, proplet_id: id, results, error: null });
}

client.on('message', (topic, payload) => {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString());
  } catch {
    return;
  }
  if (topic.endsWith('/control/manager/stop')) {
    const stop = stopMessage.safeParse(json);
    if (!stop.success) return;
    if (!stop.data.broadcast && stop.data.proplet_id !== undefined && stop.data.proplet_id !== id) return;
    const run = runs.get(stop.data.id);
    log({ event: 'stop', task: stop.data.id, wasRunning: run !== undefined });
    // Abandoned without a word, as the suite's brief has it: the manager has already moved on.
    clearTimeout(run);
    runs.delete(stop.data.id);
    return;
  }
  if (!topic.endsWith('/control/manager/start')) return;
  const parsed = startMessage.safeParse(json);
  if (!parsed.success) return;
  const start = parsed.data;
  // Upstream rule (spec §3.3.4, rule 2): a targeted start for another proplet is not ours.
  if (!start.broadcast && start.proplet_id !== undefined && start.proplet_id !== id) return;
  if (runs.has(start.id)) {
    log({ event: 'start-ignored', task: start.id });
    return;
  }
  const inputs = start.inputs ?? [];
  log({ event: 'start', task: start.id, inputs });
  runs.set(
    start.id,
    setTimeout(
      () => {
        runs.delete(start.id);
        const results = expectedResult(inputs);
        publishResult(start.id, results, 1);
        if (!random.chance(duplicateRate)) return;
        publishResult(start.id, results, 2);
        if (random.chance(lateDuplicateRate))
          setTimeout(() => publishResult(start.id, results, 3), random.between(2_000, 5_000));
      },
      random.between(20, 300),
    ),
  );
});

process.on('SIGTERM', () => {
  client.end(true, () => process.exit(0));
});
