import type { OutgoingHttpHeaders, RequestListener, ServerResponse } from 'node:http';
import { decideAccess } from '../http/auth/access-decision.ts';
import { WWW_AUTHENTICATE } from '../http/auth/credentials.ts';
import { TokenVerifier } from '../http/auth/token-verifier.ts';
import { warnIfUnauthenticated } from '../http/auth/unauthenticated-warning.ts';
import { boundPort, closeServer, listen } from '../http/server.ts';
import type { Config, HttpTls } from '../config/config.ts';
import { buildInfo } from './build-info.ts';
import type { Logger } from './logger.ts';
import { prometheusExposition, type PrometheusExposition } from './prometheus.ts';

export interface PrometheusServer {
  port: number;
  close(): Promise<void>;
}

const json = (res: ServerResponse, status: number, headers: OutgoingHttpHeaders, error: string) =>
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify({ error }));

/**
 * `/metrics` for a process that runs no api (whose HTTP port serves it otherwise): a bare node:http server,
 * since it has nothing else to serve; HTTPS with the api's certificate when it has one. With a verifier, a
 * token is needed as on the api (any role may read).
 */
export async function startPrometheusServer(
  exposition: PrometheusExposition,
  host: string,
  port: number,
  logger: Logger,
  tls?: HttpTls,
  verifier?: TokenVerifier,
): Promise<PrometheusServer> {
  const handler: RequestListener = (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (verifier) {
      const decision = decideAccess(verifier, { method: req.method ?? 'GET', path, headers: req.headers });
      if (decision.outcome === 'unauthenticated') {
        json(res, 401, { 'www-authenticate': WWW_AUTHENTICATE }, decision.message);
        return;
      }
      if (decision.outcome === 'forbidden') {
        json(res, 403, {}, decision.message);
        return;
      }
    }
    if (path !== '/metrics') {
      json(res, 404, {}, 'not found');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      json(res, 405, { allow: 'GET, HEAD' }, 'method not allowed');
      return;
    }
    exposition.text().then(
      (text) => {
        res.writeHead(200, { 'content-type': exposition.contentType });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'could not collect metrics');
        json(res, 500, {}, 'internal error');
      },
    );
  };
  const server = await listen(handler, host, port, { tls });
  return { port: boundPort(server), close: () => closeServer(server) };
}

/**
 * The metrics port of a process that runs no api, as configured: MANAGER_METRICS_PORT, on the HTTP host.
 * Undefined when it runs the api (which serves /metrics) or the port is off.
 */
export async function serveProcessMetrics(
  config: Config,
  logger: Logger,
): Promise<PrometheusServer | undefined> {
  if (config.roles.has('api') || config.metricsPort === undefined) return undefined;
  const exposition = prometheusExposition({ version: buildInfo().version, roles: [...config.roles] });
  try {
    const { tokens } = config.auth;
    const server = await startPrometheusServer(
      exposition,
      config.http.host,
      config.metricsPort,
      logger,
      config.http.tls,
      tokens.length > 0 ? new TokenVerifier(tokens) : undefined,
    );
    logger.info(
      { host: config.http.host, port: server.port, https: config.http.tls !== undefined },
      'metrics served at /metrics',
    );
    warnIfUnauthenticated(config, logger, '/metrics', server.port);
    return server;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    // Several worker processes on one host each need a port of their own.
    throw new Error(
      `MANAGER_METRICS_PORT: port ${config.metricsPort} is in use; give each process on this host its own port, 0 for any free one, or off`,
      { cause: error },
    );
  }
}
