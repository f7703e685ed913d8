import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import type { HttpTls } from './config/config.ts';
import type { RunningManager } from './manager.ts';

/** The host a person on this machine reaches a server bound to `host` at. */
function localHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
}

/** The URL of a server at this host and port. */
export function apiUrl(host: string, port: number, https = false): string {
  return `${https ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** How curl, on this machine, can trust the API's certificate; `note` says what the flags cannot. */
export interface CurlTrust {
  /** The host to put in URLs: one the certificate names, where it names one that reaches this machine. */
  host: string;
  flags: string;
  note?: string;
}

/**
 * A self-signed certificate is its own CA, so `--cacert` with its file makes curl verify it for real. One
 * issued by a CA is verified against the CAs curl trusts, which may not include a private one. And where
 * the certificate names neither the address shown nor localhost, curl cannot verify it from here at all:
 * the command then says so and uses `-k`, rather than print a command that fails.
 */
export function curlTrust(tls: HttpTls, boundHost: string): CurlTrust {
  const certificate = new X509Certificate(tls.cert);
  const names = (host: string) =>
    (isIP(host) ? certificate.checkIP(host) : certificate.checkHost(host)) !== undefined;
  const local = localHost(boundHost);
  const loopback = local === '127.0.0.1' || local === '::1';
  const host = names(local) ? local : loopback && names('localhost') ? 'localhost' : undefined;
  if (host === undefined)
    return {
      host: local,
      flags: '-k',
      note: `-k: the certificate does not name ${local}, so curl cannot verify it here; elsewhere, use the name it was issued for, without -k`,
    };
  const selfSigned = certificate.checkIssued(certificate) && certificate.verify(certificate.publicKey);
  if (selfSigned) return { host, flags: `--cacert '${tls.certFile.replace(/'/g, `'\\''`)}'` };
  return {
    host,
    flags: '',
    note: "if the certificate's CA is not one curl trusts, add --cacert <that CA's certificate file>",
  };
}

/**
 * A command a newcomer can paste: creates add(2, 3) from the sample module, starts it, shows its result
 * once there is one (asking every second, for up to 30 s: a slow machine takes longer than a fixed
 * wait). Portable on purpose (no jq, no GNU-only flags).
 */
export function sampleCommand(api: string, curlFlags = ''): string {
  const curl = curlFlags === '' ? 'curl -s' : `curl -s ${curlFlags}`;
  return (
    `ID=$(${curl} -XPOST ${api}/tasks -H 'content-type: application/json' ` +
    `-d "{\\"name\\":\\"add\\",\\"inputs\\":[2,3],\\"file\\":\\"$(base64 < examples/add.wasm | tr -d '\\n')\\"}" ` +
    `| sed -E 's/.*"id":"([^"]+)".*/\\1/') && ${curl} -XPOST ${api}/tasks/$ID/start && ` +
    `{ i=0; while [ $i -lt 30 ]; do R=$(${curl} ${api}/tasks/$ID/results); ` +
    `case "$R" in *'"results":null'*) sleep 1; i=$((i+1));; *) break;; esac; done; echo "$R"; }`
  );
}

/** What a person sees once the manager is up: where it listens, what is embedded, how to try it. */
export function startUpBanner(manager: RunningManager): string {
  const { inUse, config } = manager;
  const { tls } = config.http;
  const trust = tls ? curlTrust(tls, config.http.host) : undefined;
  const host = trust?.host ?? localHost(config.http.host);
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
    lines.push(`  metrics    ${apiUrl(host, manager.metricsPort, tls !== undefined)}/metrics`);
  if (manager.apiPort !== undefined) {
    const api = apiUrl(host, manager.apiPort, tls !== undefined);
    const withToken = config.auth.tokens.length > 0;
    // With tokens required, the command reads one from $TOKEN.
    const flags = [trust?.flags, withToken ? '-H "Authorization: Bearer $TOKEN"' : '']
      .filter(Boolean)
      .join(' ');
    lines.push(
      `  API        ${api}  (health: ${api}/health, metrics: ${api}/metrics)`,
      `  API docs   ${api}/docs  (OpenAPI document: ${api}/openapi.json)`,
      `  queues     ${api}/admin/queues  (Bull Board${config.bullBoardReadOnly ? ', read-only' : ''})`,
      withToken
        ? `  access     ${config.auth.tokens.length} API token(s); browsers log in at ${api}/login`
        : `  access     no authentication: anyone who reaches ${config.http.host} may use the API`,
      '',
      withToken ? 'Run a sample task (with an operator or admin token in $TOKEN):' : 'Run a sample task:',
      `  ${sampleCommand(api, flags)}`,
    );
    if (trust?.note) lines.push(`  (${trust.note})`);
  }
  return `${lines.join('\n')}\n\n`;
}
