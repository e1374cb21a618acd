import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCode, statusOfCode, type ErrorCode as Code } from '../protocol/errors.js';
import { logger } from './logger.js';

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

/** How long `stop()` waits for in-flight requests by default. */
export const defaultDrainMs = 10_000;

/** Idle keep-alive connections are kept longer than the usual load balancer's 60 s, so it never reuses one we closed. */
const keepAliveTimeoutMs = 65_000;

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
      writeGraphQLError(res, ErrorCode.NOT_FOUND, `no route ${url.pathname}: GraphQL is served on /graphql`);
      return;
    }
    route(req, res, url).catch((error: unknown) => {
      // A route that throws is a bug; answer without echoing its message (it may name internals).
      process.emitWarning(`route ${url.pathname} failed: ${(error as Error).stack ?? String(error)}`);
      if (!res.headersSent) writeGraphQLError(res, ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error');
      else res.destroy();
    });
  });
  server.keepAliveTimeout = keepAliveTimeoutMs;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const { port: boundPort } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${boundPort}`,
    port: boundPort,
    async stop(drainMs = defaultDrainMs) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) logger.info({ url: `http://${host}:${boundPort}`, in_flight: inFlight, drain_timeout_ms: drainMs }, 'not accepting connections; waiting for in-flight requests');
      const deadline = Date.now() + drainMs;
      while (inFlight > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        server.closeIdleConnections();
      }
      if (inFlight > 0) logger.warn({ url: `http://${host}:${boundPort}`, in_flight: inFlight, drain_timeout_ms: drainMs }, 'drain deadline passed: closing the connections of unfinished requests');
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

/** A GraphQL-shaped error answered outside Apollo (bad bodies, refused signatures, unknown routes), with its code's status. */
export function writeGraphQLError(res: ServerResponse, code: Code, message: string): void {
  writeJson(res, statusOfCode[code], { errors: [{ message, extensions: { code } }] });
}
