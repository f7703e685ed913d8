import { request as httpsRequest, type Agent } from 'node:https';

export interface HttpsResponse {
  status: number;
  body: any;
}

/**
 * A JSON request over HTTPS trusting `ca`, as fetch cannot be told a CA of its own (only a process started
 * with NODE_EXTRA_CA_CERTS can). The body is parsed when it is JSON, else kept as text.
 */
export function httpsJson(
  url: string,
  options: { ca: string; method?: string; body?: unknown; agent?: Agent },
): Promise<HttpsResponse> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method: options.method ?? 'GET',
        ca: options.ca,
        agent: options.agent,
        headers: payload === undefined ? {} : { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          let body: unknown = text;
          try {
            body = text === '' ? undefined : JSON.parse(text);
          } catch {
            // Not JSON (the metrics exposition, say): the text as it came.
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
