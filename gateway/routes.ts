import type { IncomingMessage } from 'node:http';
import type { ApolloServer } from '@apollo/server';
import { apolloRoute } from '../runtime/apollo-http.js';
import { writeJson, type RouteHandler } from '../runtime/http-server.js';
import { applyCors } from './cors.js';
import type { GatewayMetrics } from './metrics.js';
import type { ReadinessReport } from './readiness.js';
import type { GatewayContext } from './request-context.js';
import type { SupergraphStatus } from './supergraph-source.js';

export interface GatewayRoutesOptions {
  readonly region: string;
  readonly server: ApolloServer<GatewayContext>;
  /** Step 2: builds the request's context (request-context.ts). */
  readonly context: (req: IncomingMessage) => Promise<GatewayContext>;
  readonly maxBodyBytes: number;
  readonly allowedOrigins: readonly string[];
  readonly metrics: GatewayMetrics;
  readonly ready: () => Promise<ReadinessReport>;
  readonly supergraph: () => SupergraphStatus;
}

/**
 * Step 1 of a request, HTTP in: CORS, the body (size limit, JSON), then Apollo
 * Server (CSRF prevention, persisted-query lookup), which builds the context
 * (step 2, request-context.ts) and runs the plugins (step 3, plugin-chain.ts).
 * Also the operator's endpoints: liveness, readiness and metrics.
 */
export function gatewayRoutes({ region, server, context, maxBodyBytes, allowedOrigins, metrics, ready, supergraph }: GatewayRoutesOptions): Record<string, RouteHandler> {
  const contexts = new WeakMap<IncomingMessage, GatewayContext>();
  const graphql = apolloRoute(server, {
    maxBodyBytes,
    context: async (req) => {
      const built = await context(req);
      contexts.set(req, built);
      return built;
    },
  });
  return {
    '/graphql': async (req, res, url) => {
      if (applyCors(req, res, allowedOrigins)) return;
      const started = process.hrtime.bigint();
      await graphql(req, res, url);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.recordRequest(res.statusCode, contexts.get(req)?.caller?.region ?? 'anonymous', seconds);
    },
    '/healthz': async (_req, res) => writeJson(res, 200, { status: 'ok' }),
    '/readyz': async (_req, res) => {
      const report = await ready();
      writeJson(res, report.ready ? 200 : 503, { status: report.ready ? 'ready' : 'not ready', region, subgraphs: report.subgraphs, supergraph: supergraph() });
    },
    '/metrics': async (_req, res) => {
      const body = await metrics.registry.metrics();
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      res.end(body);
    },
  };
}
