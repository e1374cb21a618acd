import type { RouteHandler } from '../runtime/http-server.js';
import { writeJson } from '../runtime/http-server.js';
import { prefersHtml } from './landing-page.js';
import type { GatewayMetrics } from './metrics.js';
import { writeStatusPage } from './status-page.js';
import { statusReport, type StatusSources } from './status-page-report.js';

export type { GatewayPhase } from './status-page-report.js';

export interface OperatorRoutesOptions extends Omit<StatusSources, 'registry'> {
  readonly metrics: GatewayMetrics;
}

/**
 * The operator's endpoints, as Apollo Router serves them: liveness and
 * readiness on `/health` and `/health?ready` (and `/healthz`, `/readyz`),
 * `/status` with each subgraph's health per region and the deployment
 * around it (status-page-report.ts; the status page to a browser), `/metrics`.
 * Ready means a supergraph is loaded and the process is not draining: never
 * the health of one subgraph, which `/status` and `geofed_subgraph_up` report instead.
 */
export function operatorRoutes(options: OperatorRoutesOptions): Record<string, RouteHandler> {
  const { region, metrics, phase, supergraph } = options;
  const readiness = () => {
    const now = phase();
    return { ready: now === 'ready', status: now, region, supergraph: supergraph() ?? null };
  };
  return {
    '/health': async (_req, res, url) => {
      if (!url.searchParams.has('ready')) return writeJson(res, 200, { status: 'UP' });
      const { ready } = readiness();
      writeJson(res, ready ? 200 : 503, { status: ready ? 'UP' : 'DOWN' });
    },
    '/healthz': async (_req, res) => writeJson(res, 200, { status: 'ok' }),
    '/readyz': async (_req, res) => {
      const { ready, ...report } = readiness();
      writeJson(res, ready ? 200 : 503, report);
    },
    // JSON unless the client prefers HTML (a browser): the page then asks for the JSON itself, every few seconds.
    '/status': async (req, res) => {
      if (prefersHtml(req.headers.accept)) return writeStatusPage(req, res);
      writeJson(res, 200, await statusReport({ ...options, registry: metrics.registry }), { vary: 'accept', 'cache-control': 'no-store' });
    },
    '/metrics': async (_req, res) => {
      const body = await metrics.registry.metrics();
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      res.end(body);
    },
  };
}
