import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApolloServer } from '@apollo/server';
import { ErrorCode } from '../protocol/errors.js';
import { clientHeaders } from '../protocol/headers.js';
import { executeApolloRequest, readRequestBody, writeBodyError } from '../runtime/apollo-http.js';
import { writeGraphQLError, type RouteHandler } from '../runtime/http-server.js';
import { logFields, logger } from '../runtime/logger.js';
import { clientTraceParent, inHttpServerSpan, traceAttributes } from '../runtime/tracing.js';
import { applyCors } from './cors.js';
import type { HomeForwarder } from './home-forwarding.js';
import { verifyHop } from './hop-signature.js';
import type { GatewayMetrics } from './metrics.js';
import type { NonceStore } from '../runtime/nonce-store.js';
import { contextOf, type Caller, type GatewayContext } from './request-context.js';
import { requestCaller } from './request-scope.js';

export interface GraphqlRouteOptions {
  readonly region: string;
  /** The Apollo server of the caller's variant (its home region's versions, its canary side) and its `x-geofed-version`. */
  readonly serverFor: (caller: Caller | null) => { readonly server: ApolloServer<GatewayContext>; readonly version: string };
  /** Step 2: token → tenant → home region (request-context.ts). */
  readonly resolveCaller: (authorization: string | undefined) => Promise<Caller | null>;
  readonly clientKey: 'address' | 'x-forwarded-for';
  readonly maxBodyBytes: number;
  readonly allowedOrigins: readonly string[];
  /** Client headers passed on to subgraphs (headers.forward): a CORS preflight allows them. */
  readonly forwardedHeaders: readonly string[];
  /** `forward`: operations of tenants homed elsewhere go whole to their home gateway (step 3). */
  readonly remoteExecution: 'forward' | 'fetch';
  readonly forwarder: HomeForwarder;
  readonly hop: { readonly secrets: readonly string[]; readonly windowSeconds: number; readonly nonces: NonceStore };
  /** Each region's public endpoint, told to its tenants' clients. */
  readonly publicUrls: Readonly<Record<string, string | undefined>>;
  readonly metrics: GatewayMetrics;
}

export interface ServingRouteOptions {
  readonly region: string;
  /** The pipeline being served (pipeline.ts), swapped on every reload; undefined until the first supergraph is loaded. */
  readonly serving: () => { serve(req: IncomingMessage, res: ServerResponse, url: URL): Promise<Caller | null> } | undefined;
  readonly metrics: GatewayMetrics;
}

/**
 * The /graphql route of the gateway's listener, which outlives every pipeline:
 * 503 until the first supergraph is loaded (an orchestrator waits instead of
 * restarting the gateway), then the current pipeline's graphqlRoute, each
 * request counted by its caller's region once answered.
 */
export function servingRoute({ region, serving, metrics }: ServingRouteOptions): RouteHandler {
  return async (req, res, url) => {
    const started = process.hrtime.bigint();
    const pipeline = serving();
    if (!pipeline) {
      writeGraphQLError(res, ErrorCode.GATEWAY_NOT_READY, 'The gateway is starting: its supergraph is not loaded yet. Retry shortly.');
      return;
    }
    // The request's span continues a client's trace context, as Apollo Router does (docs/observability.md); a hop's is signed.
    const traced = { parent: clientTraceParent(req), attributes: { [traceAttributes.gatewayRegion]: region } };
    const caller = await logFields.run({ gateway_region: region }, () =>
      inHttpServerSpan(req, res, traced, async (span) => {
        const served = await pipeline.serve(req, res, url);
        if (served) span.setAttribute(traceAttributes.tenantRegion, served.region);
        return served;
      }),
    );
    metrics.recordRequest(res.statusCode, caller?.region ?? 'anonymous', Number(process.hrtime.bigint() - started) / 1e9);
  };
}

type Resolution = { readonly caller: Caller | null } | { readonly refused: unknown };

/**
 * Step 1 of a request, HTTP in: CORS preflights, the body (size limit, JSON),
 * a forwarded request's hop signature, the caller (step 2,
 * request-context.ts), and where the operation runs: a signed-in caller homed
 * in another region is forwarded whole to its home gateway (step 3,
 * home-forwarding.ts), before any persisted-query or cache step; everything
 * else goes through Apollo Server here (CSRF prevention, persisted queries,
 * the plugins of plugin-chain.ts). Resolves to the caller once answered.
 */
export function graphqlRoute(options: GraphqlRouteOptions): (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<Caller | null> {
  const { region, serverFor, resolveCaller, clientKey, maxBodyBytes, allowedOrigins, forwardedHeaders, remoteExecution, forwarder, hop, publicUrls, metrics } = options;
  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<Caller | null> => {
    if (req.method === 'OPTIONS') {
      applyCors(req, res, allowedOrigins, forwardedHeaders);
      return null;
    }
    const body = await readRequestBody(req, maxBodyBytes);
    if (!body.ok) {
      writeBodyError(res, body);
      return null;
    }
    const hopCheck = verifyHop({ method: req.method ?? 'GET', target: req.url ?? '/', headers: req.headers, body: body.raw }, hop.secrets, hop.windowSeconds);
    if (hopCheck.hop && !hopCheck.ok) return refuse(res, ErrorCode.GATEWAY_SIGNATURE_REFUSED, `Refused: ${hopCheck.reason}.`);
    if (hopCheck.hop && !(await hop.nonces.claim(hopCheck.nonce, hop.windowSeconds * 1_000))) return refuse(res, ErrorCode.GATEWAY_SIGNATURE_REFUSED, 'Refused: this forwarded request was received before.');
    const resolution: Resolution = await resolveCaller(req.headers.authorization).then(
      (caller) => ({ caller }),
      (refused: unknown) => ({ refused }),
    );
    const caller = 'caller' in resolution ? resolution.caller : null;
    if (hopCheck.hop && caller === null && 'caller' in resolution) return refuse(res, ErrorCode.GATEWAY_SIGNATURE_REFUSED, 'Refused: a forwarded request carries its client\'s token.');
    if (caller && caller.region !== region) {
      // A request forwarded once is never forwarded again: its home is here, or it is refused.
      if (hopCheck.hop) return refuse(res, ErrorCode.RESIDENCY_VIOLATION, `This gateway serves region "${region}"; the tenant's operations run in its home region only.`);
      if (remoteExecution === 'forward') {
        logger.debug({ home: caller.region }, 'operation forwarded to its home region');
        await forwarder.forward(req, res, body.raw, caller.region);
        return caller;
      }
      logger.debug({ home: caller.region }, 'operation of another region run here, fetching its home region (remote_execution: fetch)');
      metrics.remoteFetch(caller.region);
    }
    applyCors(req, res, allowedOrigins, forwardedHeaders);
    logger.debug({ hop: hopCheck.hop ? hopCheck.from : null, signedIn: caller !== null }, 'operation run here');
    if (caller) {
      res.setHeader(clientHeaders.homeRegion, caller.region);
      const endpoint = publicUrls[caller.region];
      if (endpoint !== undefined) res.setHeader(clientHeaders.homeEndpoint, endpoint);
    }
    // Chosen once: a request runs to its end on this variant, whatever a rollout changes meanwhile.
    const { server, version } = serverFor(caller);
    res.setHeader(clientHeaders.version, version);
    await requestCaller.run(caller, () =>
      executeApolloRequest(server, req, res, url, body.parsed, async () => {
        if ('refused' in resolution) throw resolution.refused;
        return contextOf(req, caller, clientKey);
      }),
    );
    return caller;
  };
}

function refuse(res: ServerResponse, code: typeof ErrorCode.GATEWAY_SIGNATURE_REFUSED | typeof ErrorCode.RESIDENCY_VIOLATION, message: string): null {
  logger.warn({ code }, 'refused a forwarded request');
  res.setHeader('cache-control', 'no-store');
  writeGraphQLError(res, code, message);
  return null;
}
