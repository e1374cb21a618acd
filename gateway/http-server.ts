import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeaderMap, type ApolloServer, type BaseContext, type HTTPGraphQLRequest, type HTTPGraphQLResponse } from '@apollo/server';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;

export interface RunningHttpServer {
  readonly url: string;
  readonly port: number;
  /** Stops accepting connections, lets in-flight requests finish (up to `drainMs`), then closes the rest. */
  stop(drainMs?: number): Promise<void>;
}

export interface ListenOptions {
  readonly host?: string;
  readonly port?: number;
  readonly routes: Readonly<Record<string, RouteHandler>>;
  /** Sets headers every response carries, whatever the route. */
  readonly onResponse?: (res: ServerResponse) => void;
}

export async function startHttpServer({ host = '127.0.0.1', port = 0, routes, onResponse }: ListenOptions): Promise<RunningHttpServer> {
  let inFlight = 0;
  const server: Server = createServer((req, res) => {
    inFlight += 1;
    res.on('close', () => {
      inFlight -= 1;
    });
    onResponse?.(res);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = routes[url.pathname];
    if (!route) {
      writeJson(res, 404, { errors: [{ message: `no route ${url.pathname}: GraphQL is served on /graphql`, extensions: { code: 'NOT_FOUND' } }] });
      return;
    }
    route(req, res, url).catch((error: unknown) => {
      // A route that throws is a bug; answer without echoing its message (it may name internals).
      process.emitWarning(`route ${url.pathname} failed: ${(error as Error).stack ?? String(error)}`);
      if (!res.headersSent) writeJson(res, 500, { errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const { port: boundPort } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${boundPort}`,
    port: boundPort,
    async stop(drainMs = 10_000) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const deadline = Date.now() + drainMs;
      while (inFlight > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        server.closeIdleConnections();
      }
      server.closeAllConnections();
      await closed;
    },
  };
}

export function writeJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export interface ApolloRouteOptions<TContext extends BaseContext> {
  readonly maxBodyBytes: number;
  /** Builds the request's context; a `GraphQLError` it throws is answered with its `extensions.http` status. */
  readonly context: (req: IncomingMessage) => Promise<TContext>;
}

/** Serves one ApolloServer on a route: GET and POST, JSON bodies, GraphQL-shaped errors for bad bodies. */
export function apolloRoute<TContext extends BaseContext>(server: ApolloServer<TContext>, options: ApolloRouteOptions<TContext>): RouteHandler {
  return async (req, res, url) => {
    const body = await readRequestBody(req, options.maxBodyBytes);
    if (!body.ok) {
      writeGraphQLError(res, body.status, body.message, 'BAD_REQUEST');
      return;
    }
    const response = await server.executeHTTPGraphQLRequest({
      httpGraphQLRequest: httpGraphQLRequest(req, url, body.parsed),
      context: () => options.context(req),
    });
    await writeApolloResponse(res, response);
  };
}

export function httpGraphQLRequest(req: IncomingMessage, url: URL, body: unknown): HTTPGraphQLRequest {
  const headers = new HeaderMap();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return { method: req.method ?? 'GET', headers, search: url.search, body };
}

export async function writeApolloResponse(res: ServerResponse, response: HTTPGraphQLResponse): Promise<void> {
  for (const [name, value] of response.headers) res.setHeader(name, value);
  res.statusCode = response.status ?? 200;
  // Not Modified carries the validators and no body.
  if (res.statusCode === 304) {
    res.end();
    return;
  }
  if (response.body.kind === 'complete') {
    res.end(response.body.string);
    return;
  }
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}

export function writeGraphQLError(res: ServerResponse, status: number, message: string, code: string): void {
  writeJson(res, status, { errors: [{ message, extensions: { code } }] });
}

export type RequestBody = { ok: true; raw: Buffer; parsed: unknown } | { ok: false; status: number; message: string };

/** Reads a POST body up to `maxBytes`; JSON bodies are parsed, a malformed one is a 400, an oversized one a 413. */
export async function readRequestBody(req: IncomingMessage, maxBytes: number): Promise<RequestBody> {
  if (req.method !== 'POST') return { ok: true, raw: Buffer.alloc(0), parsed: undefined };
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      return { ok: false, status: 413, message: `request body is larger than ${maxBytes} bytes` };
    }
    chunks.push(chunk);
  }
  const raw = Buffer.concat(chunks);
  const text = raw.toString('utf8');
  const contentType = req.headers['content-type'] ?? '';
  if (!/^application\/(graphql-response\+)?json\b/i.test(contentType)) {
    // Apollo's CSRF prevention and body checks decide what a non-JSON POST gets.
    return { ok: true, raw, parsed: text.length > 0 ? text : undefined };
  }
  try {
    return { ok: true, raw, parsed: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, status: 400, message: `request body is not valid JSON: ${(error as Error).message}` };
  }
}
