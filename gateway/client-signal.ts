import { AsyncLocalStorage } from 'node:async_hooks';
import type { RouteHandler } from '../runtime/http-server.js';

const signals = new AsyncLocalStorage<AbortSignal>();

/**
 * Runs every route with a signal that aborts when its client closes the
 * connection before the response is written (it gave up, or the gateway
 * that forwarded the request hit its own deadline). The subgraph fetches of
 * the request read it (`clientSignal()`): a fetch still queued leaves the
 * queue unsent, and none of them counts against the subgraph's breaker.
 */
export function withClientSignals(routes: Readonly<Record<string, RouteHandler>>): Record<string, RouteHandler> {
  return Object.fromEntries(
    Object.entries(routes).map(([path, handler]) => [
      path,
      (req, res, url) => {
        const controller = new AbortController();
        res.once('close', () => {
          if (!res.writableFinished) controller.abort();
        });
        return signals.run(controller.signal, () => handler(req, res, url));
      },
    ]),
  ) as Record<string, RouteHandler>;
}

/** The signal of the request being served, if it came through a route. */
export function clientSignal(): AbortSignal | undefined {
  return signals.getStore();
}
