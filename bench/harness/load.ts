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
  /**
   * A mix instead of one request: each connection sends these in turn, over
   * and over (`search` appended to the URL's path). Each pass through the
   * steps takes the next client's headers (`connectionHeaders` of a counter):
   * autocannon gives a connection a fresh context on every pass.
   */
  readonly sequence?: readonly SequenceStep[];
}

export interface SequenceStep {
  readonly method: 'GET' | 'POST';
  /** Appended to the URL's path (a GET's query string, say). */
  readonly search?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Sent without the connection's headers (an anonymous request in a signed-in mix). */
  readonly anonymous?: boolean;
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
  const path = new URL(request.url).pathname;
  const perConnection = request.connectionHeaders ?? (() => ({}));
  // A pass through the sequence takes the next number on its first step and keeps it in its context.
  const steps = request.sequence?.map((step) => ({
    method: step.method,
    path: `${path}${step.search ?? ''}`,
    ...(step.body !== undefined ? { body: step.body } : {}),
    setupRequest: (req: autocannon.Request, context: { connection?: number }) => {
      context.connection ??= connection++;
      return { ...req, headers: { ...(step.method === 'POST' ? base : request.headers), ...step.headers, ...(step.anonymous ? {} : perConnection(context.connection)) } };
    },
  }));
  const result = await autocannon({
    url: request.url,
    method: request.method ?? 'POST',
    headers: base,
    ...(request.body !== undefined ? { body: request.body } : {}),
    connections,
    duration: seconds,
    ...(steps ? { requests: steps, initialContext: {} } : {}),
    ...(request.connectionHeaders && !steps
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
