import { Agent, request as httpRequest } from 'node:http';

class StaleConnectionError extends Error {}

export interface JsonAnswer<T = unknown> {
  status: number;
  body: T;
}

/**
 * JSON over HTTP/1.1 with kept-alive connections, one per concurrent client at most: node:http costs the
 * load generator, which shares the cores with the manager, much less CPU per request than fetch.
 */
export class HttpClient {
  private readonly agent: Agent;
  private readonly host: string;
  private readonly port: number;

  constructor(baseUrl: string, maxSockets = 64) {
    const url = new URL(baseUrl);
    this.host = url.hostname;
    this.port = Number(url.port);
    this.agent = new Agent({ keepAlive: true, maxSockets });
  }

  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<JsonAnswer<T>> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    try {
      return await this.send<T>(method, path, payload);
    } catch (error) {
      // A kept-alive connection the server closed as idle just as it was reused: the request never reached
      // the server, so it is sent again, once, on a new connection.
      if (!(error instanceof StaleConnectionError)) throw error;
      return this.send<T>(method, path, payload);
    }
  }

  private send<T>(method: string, path: string, payload: Buffer | undefined): Promise<JsonAnswer<T>> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: this.host,
          port: this.port,
          method,
          path,
          agent: this.agent,
          headers: payload
            ? { 'content-type': 'application/json', 'content-length': payload.length }
            : { 'content-length': 0 },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            let parsed: unknown = text;
            try {
              parsed = text === '' ? undefined : JSON.parse(text);
            } catch {
              // Not JSON (an HTML error page, say): kept as text for the error message.
            }
            resolve({ status: res.statusCode ?? 0, body: parsed as T });
          });
          res.on('error', reject);
        },
      );
      req.on('error', (error: NodeJS.ErrnoException) =>
        reject(
          req.reusedSocket && error.code === 'ECONNRESET' ? new StaleConnectionError(error.message) : error,
        ),
      );
      req.end(payload);
    });
  }

  /** The body of a 2xx answer; anything else is an error naming the request and the answer. */
  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const answer = await this.request<T>(method, path, body);
    if (answer.status < 200 || answer.status >= 300)
      throw new Error(
        `${method} ${path} answered ${answer.status}: ${JSON.stringify(answer.body).slice(0, 300)}`,
      );
    return answer.body;
  }

  close(): void {
    this.agent.destroy();
  }
}
