export interface Answer {
  status: number;
  body: any;
}

/** A request that got no answer, and why: refused (nothing listens), cut (died mid-request) or timed out. */
export class NoAnswer extends Error {
  constructor(
    readonly reason: 'refused' | 'cut' | 'timeout',
    message: string,
  ) {
    super(message);
  }
}

function reasonOf(error: unknown): NoAnswer['reason'] {
  const name = (error as { name?: string }).name;
  if (name === 'TimeoutError' || name === 'AbortError') return 'timeout';
  const code = (error as { cause?: { code?: string } }).cause?.code;
  return code === 'ECONNREFUSED' ? 'refused' : 'cut';
}

/** A JSON request with a deadline; throws NoAnswer when there is no HTTP answer at all. */
export async function request(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 10_000,
): Promise<Answer> {
  let response: Response;
  let text: string;
  try {
    response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await response.text();
  } catch (error) {
    throw new NoAnswer(reasonOf(error), `${method} ${baseUrl}${path}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: response.status, body: parsed };
}

/** True when /health answers 200 (every dependency of that api passes). */
export async function healthy(baseUrl: string): Promise<boolean> {
  try {
    return (await request(baseUrl, 'GET', '/health', undefined, 3_000)).status === 200;
  } catch {
    return false;
  }
}

/** The dependency checks of one api's /health ({ postgres: 'pass', … }), or undefined when it does not answer. */
export async function dependencyChecks(baseUrl: string): Promise<Record<string, string> | undefined> {
  try {
    const answer = await request(baseUrl, 'GET', '/health', undefined, 3_000);
    return (answer.body as { checks?: Record<string, string> } | undefined)?.checks;
  } catch {
    return undefined;
  }
}

/** The ids of the proplets the manager counts alive, from the first api that answers. */
export async function aliveProplets(apis: readonly string[]): Promise<Set<string> | undefined> {
  for (const api of apis) {
    try {
      const answer = await request(api, 'GET', '/proplets?status=active&limit=1000', undefined, 3_000);
      if (answer.status === 200)
        return new Set((answer.body.proplets as Array<{ id: string }>).map((proplet) => proplet.id));
    } catch {
      // The next api may answer.
    }
  }
  return undefined;
}
