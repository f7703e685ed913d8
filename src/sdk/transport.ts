import { environmentDefaults } from './environment.ts';
import { PropellerConnectionError, PropellerError } from './errors.ts';

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface TransportOptions {
  /** The manager's address; default PROPELLER_MANAGER_URL, else http://127.0.0.1:7070. */
  baseUrl?: string;
  /** Sent as `Authorization: Bearer <token>`; default PROPELLER_TOKEN. */
  token?: string;
  /** Per request, until the answer has been read (for /events: until the stream has opened). Default 30 s. */
  timeoutMs?: number;
  /** Another fetch (a proxy, a test's wrapper); default the global one. */
  fetch?: FetchLike;
}

export const DEFAULT_BASE_URL = 'http://127.0.0.1:7070';
export const DEFAULT_TIMEOUT_MS = 30_000;

type QueryValue = string | number | boolean | undefined | null;

export interface RequestOptions {
  query?: Record<string, QueryValue>;
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as is (a multipart form). */
  form?: FormData;
  headers?: Record<string, string>;
  /** Statuses other than 2xx whose body is an answer, not an error (503 of GET /health). */
  accept?: readonly number[];
  signal?: AbortSignal;
}

/** What every call shares: the address, the token, the timeout, and turning failures into the SDK's errors. */
export class Transport {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  private readonly token: string | undefined;
  private readonly fetchImpl: FetchLike;

  constructor(options: TransportOptions = {}) {
    // The defaults come from the caller's environment: the SDK runs in a client, not in the manager.
    const defaults = environmentDefaults();
    this.baseUrl = (options.baseUrl ?? defaults.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    this.token = options.token ?? defaults.token;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /** A JSON request; resolves with the parsed body (undefined for 204). */
  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const text = await this.send(method, path, options, async (response) => response.text());
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  /** A request whose answer is text in another format (Prometheus exposition). */
  async text(method: string, path: string, options: RequestOptions = {}): Promise<string> {
    return this.send(method, path, options, async (response) => response.text());
  }

  /**
   * A request whose body is read by the caller (a stream): the timeout covers only the wait for the status
   * and headers; `signal` keeps governing the body.
   */
  async open(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    return this.send(method, path, options, (response) => Promise.resolve(response), { timeoutsBody: false });
  }

  private async send<T>(
    method: string,
    path: string,
    options: RequestOptions,
    read: (response: Response) => Promise<T>,
    { timeoutsBody = true } = {},
  ): Promise<T> {
    const url = `${this.baseUrl}${path}${queryString(options.query)}`;
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let body: string | FormData | undefined;
    if (options.form) body = options.form;
    else if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    }

    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), this.timeoutMs);
    const signal = options.signal ? AbortSignal.any([timeout.signal, options.signal]) : timeout.signal;
    const failure = (error: unknown) => {
      if (error instanceof PropellerError) return error;
      const kind = options.signal?.aborted ? 'aborted' : timeout.signal.aborted ? 'timeout' : 'network';
      return new PropellerConnectionError(kind, method, path, { cause: error });
    };
    try {
      let response: Response;
      try {
        response = await this.fetchImpl(url, { method, headers, body, signal });
      } catch (error) {
        throw failure(error);
      }
      if (!timeoutsBody) clearTimeout(timer);
      try {
        if (!response.ok && !options.accept?.includes(response.status))
          throw await refusal(response, method, path);
        return await read(response);
      } catch (error) {
        throw failure(error);
      }
    } finally {
      clearTimeout(timer);
    }
  }
}

function queryString(query: RequestOptions['query']): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null) params.append(name, String(value));
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

/** The server's `{"error": …}` as a PropellerError; a body that is not that envelope is kept as text. */
async function refusal(response: Response, method: string, path: string): Promise<PropellerError> {
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // A proxy's HTML page, say: the text is the best there is.
  }
  const wording =
    typeof body === 'object' && body !== null && 'error' in body && typeof body.error === 'string'
      ? body.error
      : text.trim().slice(0, 500) || response.statusText || `HTTP ${response.status}`;
  return new PropellerError(response.status, wording, body, method, path);
}
