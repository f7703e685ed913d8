import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { LOCAL_DEFAULTS } from '../../src/config/defaults.ts';
import { ROLES } from '../../src/config/roles.ts';
import { MANAGER_TOPICS, PROPLET_TOPICS } from '../../src/mqtt/topics.ts';

/**
 * The shipped broker configuration as files (test/integration/broker-acl.test.ts runs it): the compose
 * file mounts what exists and hands the broker the manager's login, and the ACL grants the topics the
 * manager and proplets use, as src/mqtt/topics.ts names them.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (path: string) => readFileSync(`${ROOT}/${path}`, 'utf8');
const compose = parse(read('docker-compose.yml'), { merge: true });
const mosquitto = compose.services.mosquitto;
const conf = read('docker/mosquitto/mosquitto.conf');
const aclLines = read('docker/mosquitto/acl')
  .split('\n')
  .filter((line) => line !== '' && !line.startsWith('#'));

/** The ACL's lines from `user <name>` up to the next user or pattern line. */
function userBlock(name: string): string[] {
  const start = aclLines.indexOf(`user ${name}`);
  assert.ok(start >= 0, `the ACL has a user ${name}`);
  const rest = aclLines.slice(start + 1);
  const end = rest.findIndex((line) => line.startsWith('user ') || line.startsWith('pattern '));
  return end < 0 ? rest : rest.slice(0, end);
}

describe('the shipped Mosquitto configuration', () => {
  it('mounts files that exist, and runs the mounted start.sh', () => {
    const mounts = new Map<string, string>();
    for (const volume of mosquitto.volumes as string[]) {
      const [source, target] = volume.split(':') as [string, string];
      if (source.startsWith('./')) {
        assert.ok(existsSync(`${ROOT}/${source}`), source);
        mounts.set(target, source);
      }
    }
    assert.equal(mounts.get('/mosquitto/config/mosquitto.conf'), './docker/mosquitto/mosquitto.conf');
    assert.equal(mounts.get('/mosquitto/config/acl'), './docker/mosquitto/acl');
    assert.deepEqual(mosquitto.command, ['sh', '/mosquitto/scripts/start.sh']);
    assert.equal(mounts.get('/mosquitto/scripts/start.sh'), './docker/mosquitto/start.sh');
    // start.sh runs make-passwords.sh from its own directory.
    assert.equal(mounts.get('/mosquitto/scripts/make-passwords.sh'), './docker/mosquitto/make-passwords.sh');
  });

  it('turns anonymous access off and reads the ACL and the password file start.sh writes', () => {
    assert.match(conf, /^allow_anonymous false$/m);
    assert.match(conf, /^acl_file \/mosquitto\/config\/acl$/m);
    assert.match(conf, /^password_file \/mosquitto\/config\/passwords$/m);
    const start = read('docker/mosquitto/start.sh');
    assert.match(start, /config=\$\{MOSQUITTO_CONFIG_DIR:-\/mosquitto\/config\}/);
    assert.match(start, /make-passwords\.sh" "\$config\/passwords"/);
  });

  it('gives the broker the login every manager role connects with', () => {
    for (const role of ROLES) {
      const env = compose.services[role].environment;
      assert.equal(env.MANAGER_ENTITY_ID, mosquitto.environment.MANAGER_ENTITY_ID, role);
      assert.equal(env.MANAGER_API_KEY, mosquitto.environment.MANAGER_API_KEY, role);
    }
    // No default password: a broker reachable from the network must not accept a known one.
    assert.match(mosquitto.environment.MANAGER_API_KEY, /^\$\{MANAGER_API_KEY:\?/);
    assert.equal(
      mosquitto.environment.MANAGER_ENTITY_ID,
      `\${MANAGER_ENTITY_ID:-${LOCAL_DEFAULTS.entityId}}`,
    );
  });

  it("grants the manager its commands and the proplets' topics, and proplets theirs", () => {
    assert.deepEqual(userBlock(LOCAL_DEFAULTS.entityId), [
      'topic write m/+/c/+/control/manager/#',
      'topic read m/+/c/+/control/proplet/#',
    ]);
    const patterns = aclLines.filter((line) => line.startsWith('pattern '));
    for (const suffix of Object.values(PROPLET_TOPICS))
      assert.ok(patterns.includes(`pattern write m/+/c/+/${suffix}`), suffix);
    for (const suffix of Object.values(MANAGER_TOPICS))
      assert.ok(patterns.includes(`pattern read m/+/c/+/${suffix}`), suffix);
    // Nothing lets a proplet publish a command, or read another proplet's messages.
    assert.deepEqual(
      patterns.filter(
        (line) =>
          (line.startsWith('pattern write') && line.includes('/control/manager/')) ||
          (line.startsWith('pattern read') && line.includes('/control/proplet/')),
      ),
      [],
    );
    assert.deepEqual(userBlock('healthcheck'), ['topic read $SYS/broker/uptime']);
  });
});
