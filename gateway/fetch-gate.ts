import { AsyncLocalStorage } from 'node:async_hooks';
import type { Fetcher, FetcherRequestInit, FetcherResponse } from '@apollo/utils.fetcher';
import { ErrorCode } from '../protocol/errors.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import type { GeofedConfig } from './config-schema.js';
import { FetchDedup, fetchIdentity } from './fetch-dedup.js';
import { FetchAbandoned, FetchLimiter, type LimiterClock } from './fetch-limiter.js';
import type { GatewayMetrics } from './metrics.js';

/** `subgraph_limits` of supergraph.yaml. */
export type SubgraphLimitSettings = GeofedConfig['subgraphLimits'];

/** What the data source tells the gate about one fetch of an operation. */
export interface FetchScope {
  /** Whose share of the slots it takes: `tenant:<id>`, or `client:<address>` for an anonymous caller (fairnessKey). */
  readonly key: string;
  /** False for every fetch of a mutation: those are never shared. */
  readonly shareable: boolean;
  /** Aborts when the client went away (client-signal.ts). */
  readonly signal: AbortSignal | undefined;
}

const scopes = new AsyncLocalStorage<FetchScope>();

/** Runs `fetch` (Apollo's RemoteGraphQLDataSource, which calls the gated fetcher) with the scope of one fetch. */
export function inFetchScope<T>(scope: FetchScope, fetch: () => Promise<T>): Promise<T> {
  return scopes.run(scope, fetch);
}

/** A tenant's fetches share one share of the slots, whoever its user; an anonymous caller's, its client address's. */
export function fairnessKey(caller: { readonly tenantId: string } | null, clientKey: string): string {
  return caller ? `tenant:${caller.tenantId}` : `client:${clientKey}`;
}

/** The breaker of the subgraph × region is open: the fetch was not sent. */
export class BreakerRefused extends Error {
  override readonly name = 'BreakerRefused';
  constructor() {
    super('the circuit breaker is open');
  }
}

/**
 * The gateway's own flood protection, one per subgraph × region, created once
 * per gateway so that a supergraph reload (new data sources) keeps the same
 * bounds: the limiter of in-flight fetches and the table of shared fetches.
 */
export class SubgraphLimits {
  private readonly limiters = new Map<string, FetchLimiter>();
  private readonly dedups = new Map<string, FetchDedup>();

  constructor(
    readonly settings: SubgraphLimitSettings,
    private readonly metrics: GatewayMetrics,
    private readonly clock?: LimiterClock,
  ) {}

  limiter(subgraph: string, region: string): FetchLimiter {
    const id = `${subgraph}\0${region}`;
    let limiter = this.limiters.get(id);
    if (!limiter) {
      this.metrics.fetchLimiterCreated(subgraph, region);
      limiter = new FetchLimiter(this.settings, { ...(this.clock ? { clock: this.clock } : {}), onLoad: (load) => this.metrics.fetchLoad(subgraph, region, load) });
      this.limiters.set(id, limiter);
    }
    return limiter;
  }

  /** Undefined when `dedup` is off. */
  dedup(subgraph: string, region: string): FetchDedup | undefined {
    if (!this.settings.dedup) return undefined;
    const id = `${subgraph}\0${region}`;
    let dedup = this.dedups.get(id);
    if (!dedup) this.dedups.set(id, (dedup = new FetchDedup()));
    return dedup;
  }

  /**
   * Connections the HTTP pool keeps per origin: enough that no fetch a limiter
   * let through waits for a connection (its deadline runs from the moment it
   * is sent), at least the pool's usual 128. Targets that share an origin
   * (a global subgraph's routing URL in every region) add up.
   */
  connectionsPerOrigin(urls: readonly string[]): number {
    const perOrigin = new Map<string, number>();
    for (const url of urls) {
      const origin = new URL(url).origin;
      perOrigin.set(origin, (perOrigin.get(origin) ?? 0) + this.settings.maxInFlight);
    }
    return Math.max(128, ...perOrigin.values());
  }
}

export interface GatedFetcherOptions {
  readonly subgraph: string;
  readonly region: string;
  readonly limiter: FetchLimiter;
  /** Undefined: every fetch is sent on its own. */
  readonly dedup: FetchDedup | undefined;
  readonly breaker: CircuitBreaker;
  readonly metrics: GatewayMetrics;
  /** Signs and sends (signing-fetcher.ts over subgraph-fetcher.ts). */
  readonly inner: Fetcher;
}

/**
 * The fetcher of one subgraph × region: a fetch joins an identical one in
 * flight (dedup), or waits for a slot of the limiter (or is shed), then
 * passes the breaker and is sent. The breaker hears only about fetches that
 * were sent, and only what the subgraph did: a fetch shed or refused was
 * never sent and is not counted; a fetch whose clients all went away is not
 * counted unless the subgraph answered it. The queue wait is the gateway's,
 * never the subgraph's: the fetch deadline (`gateway.subgraph_timeout_ms`)
 * starts when it is sent. Fetches without a scope (schema loads, health
 * checks) take no slot and are never shared.
 */
export function gatedFetcher({ subgraph, region, limiter, dedup, breaker, metrics, inner }: GatedFetcherOptions): Fetcher {
  const send = async (url: string, init: FetcherRequestInit, key: string | undefined, signal: AbortSignal | undefined): Promise<FetcherResponse> => {
    if (breaker.state === 'open') throw new BreakerRefused();
    const permit = key === undefined ? undefined : await limiter.acquire(key, signal);
    try {
      if (permit) metrics.fetchQueueWait(subgraph, region, permit.waitedMs / 1_000);
      const admission = breaker.admit();
      if (!admission) throw new BreakerRefused();
      const stopTimer = metrics.subgraphFetchTimer(subgraph, region);
      let response: FetcherResponse;
      try {
        response = await inner(url, signal ? { ...init, signal } : init);
      } catch (error) {
        if (signal?.aborted) {
          stopTimer('abandoned');
          admission.released();
          throw new FetchAbandoned();
        }
        stopTimer('error');
        admission.failed();
        throw error;
      }
      if (response.ok) {
        stopTimer('ok');
        admission.succeeded();
      } else {
        stopTimer('error');
        // A coded answer (401, 403…) means the subgraph is up, unless it refused the gateway itself (its
        // GEOFED_SUBGRAPH_SECRET differs): a misconfiguration fails every fetch, so it counts as a failure.
        const code = (await codedAnswer(response))?.code;
        if (code === ErrorCode.GATEWAY_SIGNATURE_REFUSED) admission.failed();
        else if (code !== undefined) admission.succeeded();
        else if (signal?.aborted) admission.released();
        else admission.failed();
      }
      return response;
    } finally {
      permit?.release();
    }
  };
  return (url, init = {}) => {
    const scope = scopes.getStore();
    if (!scope) return send(url, init, undefined, undefined);
    if (!dedup || !scope.shareable) return send(url, init, scope.key, scope.signal);
    const { response, joined } = dedup.run(fetchIdentity(url, init, scope.key), scope.signal, (signal) => send(url, init, scope.key, signal));
    if (joined) metrics.fetchDeduplicated(subgraph, region);
    return response;
  };
}

/** The first error of a non-2xx answer, when it has a message and a code: the subgraph spoke (the data source keeps its code). */
export async function codedAnswer(response: FetcherResponse): Promise<{ readonly message: string; readonly code: string } | undefined> {
  try {
    const body = (await response.clone().json()) as { errors?: { message?: unknown; extensions?: { code?: unknown } }[] };
    const first = body.errors?.[0];
    return typeof first?.message === 'string' && typeof first.extensions?.code === 'string' ? { message: first.message, code: first.extensions.code } : undefined;
  } catch {
    // Not JSON: no code.
    return undefined;
  }
}
