import { RemoteGraphQLDataSource, type GraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { GraphQLDataSourceRequestKind } from '@apollo/gateway/dist/datasources/types.js';
import type { Fetcher, FetcherResponse } from '@apollo/utils.fetcher';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import { SpanKind, type Attributes } from '@opentelemetry/api';
import { GraphQLError } from 'graphql';
import { laterToken, responseConsistencyToken } from '../protocol/consistency-token.js';
import { ErrorCode, geofedError } from '../protocol/errors.js';
import { clientHeaders } from '../protocol/headers.js';
import { forwardedHeaders } from './forwarded-headers.js';
import { callerHeaders } from '../protocol/signed-context.js';
import { logger } from '../runtime/logger.js';
import { inSpan, traceAttributes } from '../runtime/tracing.js';
import { auditRegionalFetch } from './audit.js';
import { CircuitBreaker, type BreakerState, type CircuitBreakerSettings } from './circuit-breaker.js';
import { clientSignal } from './client-signal.js';
import { dedupRepresentations } from './entity-dedup.js';
import type { SubgraphConfig } from './config.js';
import { BreakerRefused, codedAnswer, fairnessKey, gatedFetcher, inFetchScope, type FetchScope, type SubgraphLimits } from './fetch-gate.js';
import { FetchAbandoned, FetchShed, type ShedReason } from './fetch-limiter.js';
import type { GatewayMetrics } from './metrics.js';
import type { GatewayContext } from './request-context.js';

/** Sees every subgraph response of an operation (the test stack reads the sessions subgraphs report). */
export type SubgraphResponseObserver = (context: GatewayContext, response: GatewayGraphQLResponse, subgraph: string, region: string) => void;

export interface RegionalDataSourceOptions {
  readonly subgraph: SubgraphConfig;
  /** Global subgraphs are read from the instance of this region. */
  readonly gatewayRegion: string;
  /** Signs every request (see signing-fetcher.ts). */
  readonly fetcher: Fetcher;
  readonly metrics: GatewayMetrics;
  readonly circuitBreaker: CircuitBreakerSettings;
  /** The gateway's limiters and shared-fetch tables (fetch-gate.ts), kept across reloads. */
  readonly limits: SubgraphLimits;
  /** Where a global subgraph's fetch goes when the gateway region's instance cannot be reached, nearest first. */
  readonly globalFailover: readonly string[];
  /** Client headers passed on to every fetch (`headers.forward`). */
  readonly forwardHeaders?: readonly string[];
  readonly observeResponse?: SubgraphResponseObserver;
}

/**
 * The one place where a fetch's region is chosen. Apollo calls `buildService`
 * once per subgraph, and the query plan is shared by every tenant, so the
 * choice is made here, per fetch: a regional subgraph's fetch goes to the
 * tenant's home region, a global one to the gateway's own region, for queries
 * and mutations alike. Each region has its own RemoteGraphQLDataSource (so
 * Apollo's protocol handling stays as it is), its own circuit breaker, and
 * the gateway's limiter of in-flight fetches to it (fetch-gate.ts): a fetch
 * waits for a slot within its caller's share, or is shed (SUBGRAPH_OVERLOADED,
 * 503 with Retry-After, never failed over), and the breaker counts only
 * what the subgraph did with the fetches that were sent.
 * Regional data never fails over: a home region that cannot be reached is an
 * error, because its data must not be served from anywhere else. Global data
 * does: when the gateway's own instance cannot be reached, the next region of
 * `routing.global_failover` serves it. An entity fetch sends each distinct
 * representation once (entity-dedup.ts). Next: the caller's context headers are
 * signed over the exact body (signing-fetcher.ts, with
 * protocol/signed-context.ts) and the subgraph verifies them
 * (subgraphs/shared/subgraph-server.ts).
 */
export class RegionalDataSource implements GraphQLDataSource<GatewayContext> {
  private readonly perRegion: ReadonlyMap<string, Target>;

  constructor(private readonly options: RegionalDataSourceOptions) {
    this.perRegion = new Map(
      Object.entries(options.subgraph.urls).map(([region, url]) => {
        const { name } = options.subgraph;
        const breaker = new CircuitBreaker(options.circuitBreaker);
        const fetcher = gatedFetcher({
          subgraph: name,
          region,
          limiter: options.limits.limiter(name, region),
          dedup: options.limits.dedup(name, region),
          breaker,
          metrics: options.metrics,
          inner: options.fetcher,
        });
        return [region, { region, breaker, source: new ContextForwardingDataSource({ url, fetcher }, name, region, options.forwardHeaders ?? [], options.observeResponse) }];
      }),
    );
  }

  /** Each region's breaker state, for /status. */
  breakerStates(): Record<string, BreakerState> {
    return Object.fromEntries([...this.perRegion].map(([region, target]) => [region, target.breaker.state]));
  }

  async process(request: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<GatewayGraphQLResponse> {
    const deduped = dedupRepresentations(request.request.variables);
    if (!deduped) return this.route(request);
    return deduped.expand(await this.route({ ...request, request: { ...request.request, variables: deduped.variables } }));
  }

  private async route(request: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<GatewayGraphQLResponse> {
    const { subgraph, gatewayRegion, globalFailover } = this.options;
    const incoming = request.kind === GraphQLDataSourceRequestKind.INCOMING_OPERATION;
    if (subgraph.scope === 'regional' && incoming) return this.fetchAt(this.homeRegionOf(request), request);
    // Health checks and schema loads carry no caller: they probe the gateway's own region only.
    if (!incoming) return this.fetchAt(gatewayRegion, request);
    const mutation = request.incomingRequestContext.operation?.operation === 'mutation';
    let last: unknown;
    for (const region of [gatewayRegion, ...globalFailover]) {
      try {
        const response = await this.fetchAt(region, request);
        request.context.globalRegions.add(region);
        return response;
      } catch (error) {
        last = error;
        // A mutation goes to another instance only when this one surely never received it.
        if (!(error instanceof Unreached) && (mutation || !(error instanceof Unavailable))) throw error;
      }
    }
    throw last;
  }

  /**
   * One fetch of an operation to one region's instance, in a span of its own (each failover attempt has one):
   * subgraph, region, the tenant's home region and the outcome, nothing of the caller or the operation's values.
   * Its trace context travels signed with the request (signing-fetcher.ts). Schema loads and health checks are not traced.
   */
  private fetchAt(region: string, request: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<GatewayGraphQLResponse> {
    if (request.kind !== GraphQLDataSourceRequestKind.INCOMING_OPERATION) return this.fetchOnce(region, request, () => undefined);
    const tenantRegion = request.context.caller?.region;
    const attributes: Attributes = { [traceAttributes.subgraph]: this.options.subgraph.name, [traceAttributes.region]: region, ...(tenantRegion !== undefined ? { [traceAttributes.tenantRegion]: tenantRegion } : {}) };
    return inSpan('geofed.subgraph.fetch', { kind: SpanKind.CLIENT, attributes }, (span) => this.fetchOnce(region, request, (outcome) => span.setAttribute(traceAttributes.outcome, outcome)));
  }

  /** A slot of the region's limiter, then its breaker (fetch-gate.ts); `settle` hears how it ended. */
  private async fetchOnce(region: string, request: GraphQLDataSourceProcessOptions<GatewayContext>, settle: (outcome: FetchOutcome) => void): Promise<GatewayGraphQLResponse> {
    const { subgraph, metrics } = this.options;
    const target = this.perRegion.get(region);
    if (!target) {
      settle('unreachable');
      throw new Unreached(this.unavailable(region));
    }
    const incoming = request.kind === GraphQLDataSourceRequestKind.INCOMING_OPERATION;
    const audit = (outcome: 'ok' | 'error' | 'refused') => {
      if (subgraph.scope !== 'regional' || !incoming) return;
      const tenant = request.context.caller?.tenantId;
      if (tenant !== undefined) auditRegionalFetch({ tenant, region, subgraph: subgraph.name, operation: request.incomingRequestContext.operationName ?? null, outcome });
    };
    // Schema loads and health checks carry no caller: no scope, so no slot and no sharing.
    const scope: FetchScope | undefined = incoming
      ? {
          key: fairnessKey(request.context.caller, request.context.clientKey),
          shareable: request.incomingRequestContext.operation?.operation !== 'mutation',
          signal: clientSignal(),
        }
      : undefined;
    try {
      const response = await (scope ? inFetchScope(scope, () => target.source.process(request)) : target.source.process(request));
      audit('ok');
      settle((response.errors?.length ?? 0) > 0 ? 'graphql_error' : 'ok');
      if (subgraph.scope === 'regional' && incoming) request.context.dataRegions.add(region);
      return response;
    } catch (error) {
      if (error instanceof FetchShed) {
        metrics.fetchShed(subgraph.name, region, error.reason);
        audit('refused');
        settle('shed');
        throw this.overloaded(region, error.reason);
      }
      if (error instanceof FetchAbandoned) {
        metrics.fetchAbandoned(subgraph.name, region);
        audit('refused');
        settle('client_gone');
        throw this.abandoned(region);
      }
      if (error instanceof BreakerRefused) {
        audit('refused');
        settle('breaker_open');
        throw new Unreached(this.unavailable(region));
      }
      audit('error');
      // A coded answer from the subgraph (401, 403…) means the region is up.
      if (error instanceof SubgraphAnswerError) {
        settle('refused');
        throw error;
      }
      const neverSent = isNeverSent(error);
      settle(neverSent ? 'unreachable' : 'failed');
      throw neverSent ? new Unreached(this.unavailable(region)) : new Unavailable(this.unavailable(region));
    }
  }

  private homeRegionOf(request: GraphQLDataSourceProcessOptions<GatewayContext>): string {
    const region = request.context.caller?.region;
    // Never a default region: a regional fetch without a resolved tenant is refused.
    if (region === undefined) throw geofedError(ErrorCode.UNAUTHENTICATED, `This operation reads ${this.options.subgraph.name} data: send a token.`);
    return region;
  }

  /** Transport failures become a coded error that names neither URL nor host. */
  private unavailable(region: string): GraphQLError {
    const { subgraph } = this.options;
    return subgraph.scope === 'regional'
      ? geofedError(ErrorCode.REGION_UNAVAILABLE, `The tenant's home region (${region}) cannot be reached for ${subgraph.name}; its data is never served from another region. Retry later.`, { region })
      : geofedError(ErrorCode.SUBGRAPH_UNAVAILABLE, `The ${subgraph.name} service cannot be reached in any region; retry later.`);
  }

  /** A shed fetch: this request only, never failed over (that would carry the flood to the next region). */
  private overloaded(region: string, reason: ShedReason): GraphQLError {
    const { subgraph } = this.options;
    return geofedError(
      ErrorCode.SUBGRAPH_OVERLOADED,
      `The ${subgraph.name} service${subgraph.scope === 'regional' ? ` of region ${region}` : ''} is at its limit of requests in flight, so this one was not sent; retry after ${retryAfterSeconds} s.`,
      { reason, retryAfterSeconds },
      { 'retry-after': String(retryAfterSeconds) },
    );
  }

  /** The client went away: nobody reads this answer, which never counts against the subgraph. */
  private abandoned(region: string): GraphQLError {
    return geofedError(ErrorCode.SUBGRAPH_OVERLOADED, `The client went away before the ${this.options.subgraph.name} fetch (${region}) was answered.`, { reason: 'client_gone' });
  }
}

interface Target {
  readonly region: string;
  readonly breaker: CircuitBreaker;
  readonly source: RemoteGraphQLDataSource<GatewayContext>;
}

/**
 * How one fetch ended, on its span: answered (with or without GraphQL errors), refused by the subgraph with a
 * code, shed by the limiter, abandoned by the client, refused by an open breaker, never sent, or failed in transport.
 */
type FetchOutcome = 'ok' | 'graphql_error' | 'refused' | 'shed' | 'client_gone' | 'breaker_open' | 'unreachable' | 'failed';

/** The `Retry-After` of a shed fetch: the queue deadline is a fraction of a second, so the next second is soon enough. */
const retryAfterSeconds = 1;

/** A fetch that failed in transport: the instance may have received it. */
class Unavailable extends GraphQLError {
  constructor(error: GraphQLError) {
    super(error.message, { extensions: error.extensions });
  }
}

/** A fetch that surely never reached the instance (breaker open, connection refused): safe to send elsewhere, mutations included. */
class Unreached extends Unavailable {}

/** Connection errors raised before a byte of the request was written. */
const neverSentCodes = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

function isNeverSent(error: unknown): boolean {
  const code = (error as { code?: unknown }).code ?? (error as { cause?: { code?: unknown } }).cause?.code;
  return typeof code === 'string' && neverSentCodes.has(code);
}

/** A non-2xx answer that carried a GraphQL error with a code: the subgraph spoke, so it is not an outage. */
class SubgraphAnswerError extends GraphQLError {
  constructor(message: string, code: string) {
    super(message, { extensions: { code } });
  }
}

/**
 * Forwards the caller resolved by the gateway; nothing a client sent is passed
 * on (Apollo builds each subgraph request's headers afresh). The signing
 * fetcher signs these values together with the body.
 */
class ContextForwardingDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(
    config: { url: string; fetcher: Fetcher },
    private readonly subgraphName: string,
    private readonly region: string,
    private readonly forwardHeaders: readonly string[],
    private readonly observeResponse: SubgraphResponseObserver | undefined,
  ) {
    super(config);
  }

  override willSendRequest(options: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    if (options.kind !== GraphQLDataSourceRequestKind.INCOMING_OPERATION) return;
    const { caller, consistency } = options.context;
    const headers = options.request.http?.headers;
    if (!headers) return;
    // Before the signed context, which always wins (no allowed name is x-geofed-*: forwarded-headers.ts).
    for (const [name, value] of forwardedHeaders(this.forwardHeaders, options.incomingRequestContext.request.http?.headers)) headers.set(name, value);
    const context = callerHeaders({ ...(caller ?? {}), roles: caller?.roles ?? [], ...(consistency.requested !== undefined ? { consistency: consistency.requested } : {}) });
    for (const [name, value] of Object.entries(context)) headers.set(name, value);
  }

  /** Collects the consistency token of a subgraph's writes. */
  override didReceiveResponse({ response, context }: Parameters<NonNullable<RemoteGraphQLDataSource<GatewayContext>['didReceiveResponse']>>[0]) {
    context.consistency.written = laterToken(context.consistency.written, responseConsistencyToken(response.http?.headers.get(clientHeaders.consistency)));
    this.observeResponse?.(context, response, this.subgraphName, this.region);
    return response;
  }

  /**
   * Keeps the code and message of a subgraph's refusal (RESIDENCY_VIOLATION, UNAUTHENTICATED…), never its URL.
   * A refusal of the gateway's own signature is the deployment's fault, never the client's: the operator hears
   * of it, the client gets a 503.
   */
  override async errorFromResponse(response: FetcherResponse): Promise<GraphQLError> {
    const first = await codedAnswer(response);
    if (first?.code === ErrorCode.GATEWAY_SIGNATURE_REFUSED) {
      logger.error(
        { subgraph: this.subgraphName, region: this.region, reason: first.message },
        'the subgraph refused the gateway\'s signature: GEOFED_SUBGRAPH_SECRET differs between the gateway and the subgraph (or their clocks are apart)',
      );
      return new SubgraphAnswerError(`The ${this.subgraphName} service refused this gateway's requests: the deployment is misconfigured, not your request. Retry later.`, ErrorCode.SUBGRAPH_REJECTED_GATEWAY);
    }
    if (first) return new SubgraphAnswerError(first.message, first.code);
    return new GraphQLError(`subgraph answered HTTP ${response.status}`);
  }
}
