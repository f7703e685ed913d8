import type { RunningManager } from './manager.ts';

/** The API's address as a person on this machine reaches it. */
export function apiUrl(host: string, port: number): string {
  const local = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${local.includes(':') ? `[${local}]` : local}:${port}`;
}

/**
 * A command a newcomer can paste: creates add(2, 3) from the sample module, starts it, shows its result
 * once there is one (asking every second, for up to 30 s: a slow machine takes longer than a fixed
 * wait). Portable on purpose (no jq, no GNU-only flags).
 */
export function sampleCommand(api: string): string {
  return (
    `ID=$(curl -s -XPOST ${api}/tasks -H 'content-type: application/json' ` +
    `-d "{\\"name\\":\\"add\\",\\"inputs\\":[2,3],\\"file\\":\\"$(base64 < examples/add.wasm | tr -d '\\n')\\"}" ` +
    `| sed -E 's/.*"id":"([^"]+)".*/\\1/') && curl -s -XPOST ${api}/tasks/$ID/start && ` +
    `{ i=0; while [ $i -lt 30 ]; do R=$(curl -s ${api}/tasks/$ID/results); ` +
    `case "$R" in *'"results":null'*) sleep 1; i=$((i+1));; *) break;; esac; done; echo "$R"; }`
  );
}

/** What a person sees once the manager is up: where it listens, what is embedded, how to try it. */
export function startUpBanner(manager: RunningManager): string {
  const { inUse, config } = manager;
  const part = (name: string, { embedded, description }: { embedded: boolean; description: string }) =>
    `  ${name.padEnd(10)} ${embedded ? 'embedded' : 'external'}  ${description}`;
  const lines = [
    '',
    `Propeller manager ready (roles: ${manager.roles.join(', ')})`,
    part('Postgres', inUse.postgres),
    part('queues', inUse.queues),
    part('MQTT', inUse.broker),
    `  proplets   ${manager.embeddedProplets} embedded; others connect to the broker above, tenant ${config.mqtt.tenantId}, channel ${config.mqtt.channelId}`,
  ];
  // Without the api, /metrics has a port of its own.
  if (manager.metricsPort !== undefined)
    lines.push(`  metrics    ${apiUrl(config.http.host, manager.metricsPort)}/metrics`);
  if (manager.apiPort !== undefined) {
    const api = apiUrl(config.http.host, manager.apiPort);
    lines.push(
      `  API        ${api}  (health: ${api}/health, metrics: ${api}/metrics)`,
      `  API docs   ${api}/docs  (OpenAPI document: ${api}/openapi.json)`,
      `  queues     ${api}/admin/queues  (Bull Board${config.bullBoardReadOnly ? ', read-only' : ''})`,
      '',
      'Run a sample task:',
      `  ${sampleCommand(api)}`,
    );
  }
  return `${lines.join('\n')}\n\n`;
}
