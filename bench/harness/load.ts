import autocannon from 'autocannon';

/** One request shape of a load: every connection sends it, over and over. */
export interface LoadRequest {
  readonly url: string;
  readonly method?: 'GET' | 'POST';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /**
   * Headers of connection `i` on top of `headers` (a client of its own: an
   * `x-forwarded-for` per connection, say).
   */
  readonly connectionHeaders?: (i: number) => Readonly<Record<string, string>>;
}

export interface LoadSample {
  readonly requests: number;
  readonly seconds: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Connection errors, timeouts and answers other than 2xx. */
  readonly errors: number;
}

/** `connections` keep-alive connections (autocannon, no pipelining) for `seconds`. */
export async function runLoad(request: LoadRequest, connections: number, seconds: number): Promise<LoadSample> {
  let connection = 0;
  const base = { 'content-type': 'application/json', ...request.headers };
  const result = await autocannon({
    url: request.url,
    method: request.method ?? 'POST',
    headers: base,
    ...(request.body !== undefined ? { body: request.body } : {}),
    connections,
    duration: seconds,
    ...(request.connectionHeaders
      ? { setupClient: (client: autocannon.Client) => client.setHeaders({ ...base, ...request.connectionHeaders!(connection++) }) }
      : {}),
  });
  const measured = result.duration > 0 ? result.duration : seconds;
  return {
    requests: result.requests.total,
    seconds: measured,
    requestsPerSecond: result.requests.total / measured,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}
