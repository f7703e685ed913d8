/**
 * Preloaded by `npm run bench`: a Mosquitto of the bench's own, on a spare port, tuned as the shipped broker
 * (docker/mosquitto/mosquitto.conf) is, so the figures are those of the deployment and not of whatever
 * settings the machine's broker has. Stock Mosquitto leaves Nagle's algorithm on (set_tcp_nodelay false):
 * a start then waits up to a delayed ACK (about 25 ms here) on its way to the proplet.
 *
 * BENCH_BROKER=system (or a TEST_MQTT_URL) uses that broker instead; without mosquitto on the PATH, so does the
 * bench, saying so.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from 'node:net';
import { findExecutable } from '../src/config/find-executable.ts';
import { freePort } from '../test/support/free-port.ts';

/** The shipped settings that bear on throughput and latency; the rest (logins, ACL, persistence) do not. */
const TUNING = ['set_tcp_nodelay', 'max_queued_messages', 'max_inflight_messages'];
const SHIPPED = new URL('../docker/mosquitto/mosquitto.conf', import.meta.url);

const answers = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

async function startPrivateBroker(executable: string): Promise<void> {
  const tuning = readFileSync(SHIPPED, 'utf8')
    .split('\n')
    .filter((line) => TUNING.includes(line.trim().split(/\s+/)[0] ?? ''));
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bench-broker-'));
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', ...tuning, ''].join('\n'));
  const broker = spawn(executable, ['-c', conf], { stdio: 'ignore' });
  // The bench ends when its work does; the broker goes with it.
  broker.unref();
  process.on('exit', () => {
    broker.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  for (let tries = 0; !(await answers(port)); tries++) {
    if (tries === 50 || broker.exitCode !== null)
      throw new Error(`the bench's Mosquitto did not start (${conf})`);
    await sleep(100);
  }
  process.env.TEST_MQTT_URL = `mqtt://127.0.0.1:${port}`;
  process.env.BENCH_BROKER_SETTINGS = tuning.map((line) => line.trim()).join(', ');
}

if (process.env.BENCH_BROKER !== 'system' && process.env.TEST_MQTT_URL === undefined) {
  const executable = findExecutable('mosquitto', `${process.env.PATH ?? ''}:/usr/sbin:/usr/local/sbin`);
  if (executable) await startPrivateBroker(executable);
  // Without one, the bench uses TEST_MQTT_URL's default, the machine's broker, and says so (see describeMachine).
}
