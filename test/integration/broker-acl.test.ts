import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { parse } from 'yaml';
import { MANAGER_TOPICS, PROPLET_TOPICS } from '../../src/mqtt/topics.ts';
import { LoggedProcess } from '../faults/logged-process.ts';
import { freePort } from '../support/free-port.ts';
import {
  MOSQUITTO_PATH,
  MOSQUITTO_TOOLS,
  SHIPPED,
  startShippedBroker,
  type ShippedBroker,
} from '../support/shipped-broker.ts';
import { waitFor } from '../support/wait.ts';

/**
 * The shipped ACL (docker/mosquitto/acl) in a private Mosquitto, with a password file made by the shipped
 * script: what a proplet and the manager may publish and read, seen from MQTT clients. Mosquitto drops an
 * unauthorized publish, telling an MQTT 5 client with reason code 135 on its PUBACK, and accepts a
 * subscription it will deliver nothing to; so what is asserted is what each client receives, with a later
 * message from the same broker as the sign that an earlier one would have arrived by then. Needs Mosquitto
 * and mosquitto_passwd, which a bare machine lacks.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);
const MANAGER = 'propeller-manager';
// A colon in a password is allowed: only the login ends at the first one.
const managerPassword = `${randomBytes(8).toString('hex')}:with:colons`;
const propletA = { id: randomUUID(), password: randomBytes(12).toString('hex') };
const propletB = { id: randomUUID(), password: randomBytes(12).toString('hex') };
const base = `m/tenant-${randomUUID()}/c/channel-${randomUUID()}`;

interface Received {
  client: MqttClient;
  topics: string[];
}

async function login(url: string, username: string, password: string): Promise<Received> {
  const client = await mqtt.connectAsync(url, {
    clientId: `${username}-${randomBytes(4).toString('hex')}`,
    username,
    password,
    protocolVersion: 5,
    reconnectPeriod: 0,
  });
  const topics: string[] = [];
  client.on('message', (topic) => topics.push(topic));
  return { client, topics };
}

const publish = (client: MqttClient, suffix: string, payload: unknown = {}) =>
  client.publishAsync(`${base}/${suffix}`, JSON.stringify(payload), { qos: 1 });

const commands = Object.values(MANAGER_TOPICS);
const propletTopics = Object.values(PROPLET_TOPICS);

if (MOSQUITTO_TOOLS)
  describe('the shipped broker ACL', () => {
    let shipped: ShippedBroker;
    let url: string;
    let manager: Received;
    let ingress: Received;
    let a: Received;
    let b: Received;
    before(async () => {
      const port = await freePort();
      shipped = await startShippedBroker(
        { [MANAGER]: managerPassword, [propletA.id]: propletA.password, [propletB.id]: propletB.password },
        port,
        [`listener ${port} 127.0.0.1`],
      );
      url = shipped.broker.url;
      manager = await login(url, MANAGER, managerPassword);
      // As the ingress subscribes: shared subscriptions of the proplet topics.
      ingress = await login(url, MANAGER, managerPassword);
      await ingress.client.subscribeAsync(
        propletTopics.map((suffix) => `$share/propeller-ingress/${base}/${suffix}`),
        { qos: 1 },
      );
      a = await login(url, propletA.id, propletA.password);
      b = await login(url, propletB.id, propletB.password);
      for (const proplet of [a, b])
        // What an upstream proplet subscribes to, and what it has no business reading: others' messages.
        await proplet.client.subscribeAsync(
          [...commands, 'registry/server', 'control/proplet/#'].map((suffix) => `${base}/${suffix}`),
          { qos: 1 },
        );
    });
    after(async () => {
      for (const received of [manager, ingress, a, b]) await received?.client.endAsync();
      await shipped?.close();
    });

    it('lets a proplet publish every proplet topic, which the manager reads and no other proplet does', async () => {
      for (const suffix of [...propletTopics, 'registry/proplet']) await publish(a.client, suffix);
      await waitFor(
        () => propletTopics.every((suffix) => ingress.topics.includes(`${base}/${suffix}`)),
        'every proplet topic at the ingress',
      );
      // The manager's next command reaches B after anything the broker had already sent it.
      await publish(manager.client, MANAGER_TOPICS.stop, { id: 'sentinel-1' });
      await waitFor(() => b.topics.includes(`${base}/${MANAGER_TOPICS.stop}`), 'the stop at proplet B');
      assert.deepEqual(
        b.topics.filter((topic) => topic.includes('/control/proplet/')),
        [],
        'proplet B read none of proplet A',
      );
      assert.deepEqual(
        a.topics.filter((topic) => topic.includes('/control/proplet/')),
        [],
      );
    });

    it('lets the manager publish every command, which every proplet receives', async () => {
      for (const suffix of commands) await publish(manager.client, suffix, { id: 'command' });
      for (const proplet of [a, b])
        await waitFor(
          () => commands.every((suffix) => proplet.topics.includes(`${base}/${suffix}`)),
          'every command at the proplet',
        );
    });

    it("refuses a proplet's command (reason 135) and delivers it to no one", async () => {
      a.topics.length = 0;
      b.topics.length = 0;
      for (const suffix of [...commands, 'registry/server'])
        await assert.rejects(
          publish(a.client, suffix, { id: 'forged' }),
          (error: Error & { code?: number }) => {
            assert.equal(error.code, 135);
            assert.match(error.message, /Not authorized/);
            return true;
          },
        );
      // The broker decided on each before acknowledging it; a command sent after reaches B after them.
      await publish(manager.client, MANAGER_TOPICS.start, { id: 'sentinel-2' });
      await waitFor(() => b.topics.length > 0, 'the manager start at proplet B');
      assert.deepEqual(b.topics, [`${base}/${MANAGER_TOPICS.start}`]);
      await waitFor(() => a.topics.length > 0, 'the manager start at proplet A');
      assert.deepEqual(a.topics, [`${base}/${MANAGER_TOPICS.start}`]);
    });

    it('refuses a wrong password, an unknown login and no login at all', async () => {
      const refused = /Connection refused: Not authorized/;
      await assert.rejects(login(url, propletA.id, propletB.password), refused);
      await assert.rejects(login(url, randomUUID(), propletA.password), refused);
      await assert.rejects(mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 }), refused);
    });
  });

if (MOSQUITTO_TOOLS)
  describe("the compose file's mosquitto service (docker/mosquitto/start.sh)", () => {
    let dir: string;
    let port: number;
    const broker = (env: Record<string, string>) =>
      new LoggedProcess('start.sh', {
        command: 'sh',
        args: [SHIPPED.start],
        env: { MOSQUITTO_CONFIG_DIR: dir, PATH: MOSQUITTO_PATH, ...env },
        logFile: join(dir, 'broker.log'),
      });
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'propeller-test-start-sh-'));
      port = await freePort();
      await copyFile(SHIPPED.acl, join(dir, 'acl'));
      // The shipped file's listener, authentication and ACL, at this directory's paths.
      const shipped = await readFile(SHIPPED.conf, 'utf8');
      const kept = shipped
        .split('\n')
        .filter((line) => /^(allow_anonymous|password_file|acl_file) /.test(line))
        .map((line) => line.replace('/mosquitto/config', dir));
      assert.equal(kept.length, 3);
      const asRoot = process.getuid?.() === 0 ? ['user root'] : [];
      await writeFile(
        join(dir, 'mosquitto.conf'),
        [`listener ${port} 127.0.0.1`, ...kept, ...asRoot, ''].join('\n'),
      );
    });
    after(() => rm(dir, { recursive: true, force: true }));

    it('logs in the manager and the proplets of its environment, and the health check reads only $SYS', async () => {
      const proplets = [propletA, propletB];
      const service = broker({
        MANAGER_ENTITY_ID: MANAGER,
        MANAGER_API_KEY: managerPassword,
        PROPLET_LOGINS: proplets.map((p) => `${p.id}:${p.password}`).join(' '),
      });
      service.start();
      const url = `mqtt://127.0.0.1:${port}`;
      try {
        const manager = await waitFor(() => login(url, MANAGER, managerPassword), 'the manager logged in');
        await manager.client.endAsync();
        for (const proplet of proplets)
          await (await login(url, proplet.id, proplet.password)).client.endAsync();

        // The compose file's own health check command, pointed at this broker.
        const compose = parse(await readFile(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true });
        const [kind, command] = compose.services.mosquitto.healthcheck.test as [string, string];
        assert.equal(kind, 'CMD-SHELL');
        const here = command
          .replaceAll('$$', '$')
          .replaceAll('/mosquitto/config', dir)
          .replace('-p 1883', `-p ${port}`);
        await run('sh', ['-c', here], { env: { PATH: MOSQUITTO_PATH }, timeout: 10_000 });

        const healthcheck = await login(
          url,
          'healthcheck',
          (await readFile(join(dir, 'healthcheck-password'), 'utf8')).trim(),
        );
        await assert.rejects(publish(healthcheck.client, MANAGER_TOPICS.start), /Not authorized/);
        await healthcheck.client.endAsync();
      } finally {
        await service.close();
      }
    });

    it('refuses to start for a manager the ACL does not name', async () => {
      const service = broker({ MANAGER_ENTITY_ID: 'renamed-manager', MANAGER_API_KEY: managerPassword });
      service.start();
      try {
        await service.waitForOutput("the ACL has no 'user renamed-manager' block", 10_000);
        await waitFor(() => !service.running, 'start.sh to exit');
      } finally {
        await service.close();
      }
    });
  });
