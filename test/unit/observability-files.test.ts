import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/config.ts';
import { ROLES } from '../../src/config/roles.ts';
import { prometheusExposition } from '../../src/observability/prometheus.ts';
import { parseExposition } from '../support/prometheus-text.ts';

/**
 * Nothing here can run Docker, so the files of the compose profile "observability" are checked as far as
 * reading them goes: they parse, what they refer to exists, and the dashboard asks only for series the
 * manager exports.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (path: string) => readFileSync(`${ROOT}/${path}`, 'utf8');
const yamlFile = (path: string): any => parse(read(path), { merge: true });

const compose = yamlFile('docker-compose.yml');
const defaults = loadConfig({}, '/nonexistent');
const OBSERVABILITY = ['prometheus', 'grafana', 'jaeger'];

describe('docker-compose.yml', () => {
  it('runs Prometheus, Grafana and Jaeger only under the observability profile', () => {
    for (const [name, service] of Object.entries<any>(compose.services))
      assert.deepEqual(service.profiles, OBSERVABILITY.includes(name) ? ['observability'] : undefined, name);
  });

  it("points every manager's traces at Jaeger's OTLP/HTTP port, and binds them where Prometheus reaches them", () => {
    assert.deepEqual(compose.services.jaeger.ports, ['16686:16686', '4318:4318']);
    for (const role of ROLES) {
      const env = compose.services[role].environment;
      assert.equal(env.MANAGER_OTEL_URL, '${MANAGER_OTEL_URL-http://jaeger:4318}', role);
      assert.equal(env.MANAGER_HTTP_HOST, '0.0.0.0', role);
    }
  });

  it('requires API tokens of every manager, which all bind beyond loopback, with a message', () => {
    for (const role of ROLES)
      assert.match(
        compose.services[role].environment.MANAGER_API_TOKENS,
        /^\$\{MANAGER_API_TOKENS:\?set MANAGER_API_TOKENS, e\.g\. [^}]+\}$/,
        role,
      );
  });

  it('mounts files that exist', () => {
    for (const name of OBSERVABILITY)
      for (const volume of (compose.services[name].volumes ?? []) as string[]) {
        const source = volume.split(':')[0]!;
        if (source.startsWith('./')) assert.ok(existsSync(`${ROOT}/${source}`), `${name}: ${source}`);
        else assert.ok(source in compose.volumes, `${name}: volume ${source}`);
      }
  });
});

describe('docker/prometheus/prometheus.yml', () => {
  const config = yamlFile('docker/prometheus/prometheus.yml');
  const jobs = new Map<string, any>(config.scrape_configs.map((job: any) => [job.job_name, job]));

  it('scrapes the api on its HTTP port and every other role on the metrics port, every replica', () => {
    const api = jobs.get('propeller-api').dns_sd_configs[0];
    assert.deepEqual([api.names, api.type, api.port], [['api'], 'A', defaults.http.port]);
    const workers = jobs.get('propeller-workers').dns_sd_configs[0];
    assert.deepEqual(
      [workers.names.sort(), workers.type, workers.port],
      [ROLES.filter((role) => role !== 'api').sort(), 'A', defaults.metricsPort],
    );
    for (const role of ROLES) assert.ok(role in compose.services, role);
  });

  it('scrapes with the bearer token of a file in a directory the compose file mounts', () => {
    const mounted = (compose.services.prometheus.volumes as string[]).find((v) => v.includes('/secrets:'));
    const [source, target] = mounted!.split(':');
    assert.ok(existsSync(`${ROOT}/${source}/.gitignore`), 'the token stays out of git');
    for (const job of jobs.values())
      assert.deepEqual(
        job.authorization,
        { type: 'Bearer', credentials_file: `${target}/api-token` },
        job.job_name,
      );
  });
});

describe('Grafana provisioning and dashboard', () => {
  const sources = yamlFile('docker/grafana/provisioning/datasources/datasources.yml').datasources as any[];
  const dashboard = JSON.parse(read('docker/grafana/dashboards/propeller.json'));
  const panels = (dashboard.panels as any[]).filter((panel) => panel.type !== 'row');

  it('provisions the Prometheus and Jaeger of the compose file, and the dashboard folder', () => {
    const byUid = new Map(sources.map((source) => [source.uid, source]));
    assert.equal(byUid.get('prometheus')?.url, 'http://prometheus:9090');
    assert.deepEqual(compose.services.prometheus.ports, ['9090:9090']);
    assert.equal(byUid.get('jaeger')?.url, 'http://jaeger:16686');
    const providers = yamlFile('docker/grafana/provisioning/dashboards/dashboards.yml').providers;
    const mounted = (compose.services.grafana.volumes as string[]).find((v) => v.includes('dashboards:'));
    assert.equal(providers[0].options.path, mounted?.split(':')[1]);
    for (const panel of panels) assert.equal(panel.datasource.uid, 'prometheus', panel.title);
  });

  it('asks only for series the manager exports, and shows every one of them', async () => {
    const exposition = prometheusExposition(
      { version: '0.0.0', roles: ROLES },
      {
        sources: {
          queueDepth: () => Promise.resolve([]),
          tasksByState: () => Promise.resolve(new Map()),
          propletsAlive: () => Promise.resolve(0),
        },
      },
    );
    const families = [...parseExposition(await exposition.text()).types.keys()];
    const exported = new Set(
      families.flatMap((name) => [name, `${name}_bucket`, `${name}_sum`, `${name}_count`]),
    );
    const asked = new Set<string>();
    for (const panel of panels) {
      assert.ok(panel.targets.length > 0, panel.title);
      for (const target of panel.targets as Array<{ expr: string }>)
        for (const [name] of target.expr.matchAll(/\b(?:propeller|manager_api|process|nodejs)_[a-z0-9_]+/g)) {
          assert.ok(exported.has(name), `${panel.title}: ${name} is not exported`);
          // manager_api_request_count is a counter by that name, not a histogram's count.
          asked.add(name).add(name.replace(/_(bucket|sum|count)$/, ''));
        }
    }
    const ours = families.filter(
      (name) => /^(propeller|manager_api)_/.test(name) && name !== 'propeller_build_info',
    );
    for (const name of ours) assert.ok(asked.has(name), `no panel shows ${name}`);
  });
});
