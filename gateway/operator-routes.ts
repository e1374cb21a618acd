import type { RouteHandler } from '../runtime/http-server.js';
import { writeJson } from '../runtime/http-server.js';
import type { SupergraphStatus } from './config-reload.js';
import type { GatewayMetrics } from './metrics.js';
import type { BreakerStates } from './pipeline.js';
import type { HealthReport } from './subgraph-health.js';

/** `starting`: no supergraph loaded yet; `ready`: serving; `draining`: shutting down, finishing what is in flight. */
export type GatewayPhase = 'starting' | 'ready' | 'draining';

export interface OperatorRoutesOptions {
  readonly region: string;
  readonly metrics: GatewayMetrics;
  readonly phase: () => GatewayPhase;
  /** Undefined until the first supergraph is loaded. */
  readonly supergraph: () => SupergraphStatus | undefined;
  /** Probes every subgraph instance now (subgraph-health.ts) and reads the breakers. */
  readonly subgraphs: () => Promise<{ readonly health: readonly HealthReport[]; readonly breakers: BreakerStates }>;
}

/**
 * The operator's endpoints, as Apollo Router serves them: liveness and
 * readiness on `/health` and `/health?ready` (and `/healthz`, `/readyz`),
 * `/status` with each subgraph's health per region, `/metrics`. Ready means
 * a supergraph is loaded and the process is not draining: never the health
 * of one subgraph, which `/status` and `geofed_subgraph_up` report instead.
 */
export function operatorRoutes({ region, metrics, phase, supergraph, subgraphs }: OperatorRoutesOptions): Record<string, RouteHandler> {
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
    '/status': async (_req, res) => {
      const { ready, ...report } = readiness();
      const { health, breakers } = await subgraphs();
      const bySubgraph: Record<string, Record<string, { health: string; breaker: string }>> = {};
      for (const { subgraph, region: at, health: state } of health) {
        (bySubgraph[subgraph] ??= {})[at] = { health: state, breaker: breakers[subgraph]?.[at] ?? 'closed' };
      }
      writeJson(res, 200, { ...report, ready, subgraphs: bySubgraph });
    },
    '/metrics': async (_req, res) => {
      const body = await metrics.registry.metrics();
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      res.end(body);
    },
  };
}
