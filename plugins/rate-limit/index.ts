import type { ApolloServerPlugin } from '@apollo/server';
import { Counter, type Registry } from 'prom-client';
import { ErrorCode, geofedError } from '../../protocol/errors.js';
import { logger } from '../../runtime/logger.js';
import type { CostModel } from '../cost/calculator.js';
import type { BucketSize, RateLimitSettings } from './settings.js';
import type { BucketDebit, BucketState, BucketStore, DebitResult } from './store.js';

/** What the plugin reads of the request's context. */
export interface RateLimitContext {
  /** Null for an anonymous caller, whose budget is per client key. */
  readonly caller: { readonly tenantId: string; readonly region: string; readonly billingPlan: string } | null;
  readonly clientKey: string;
}

export interface RateLimitPluginOptions {
  readonly model: () => CostModel;
  readonly settings: RateLimitSettings;
  /** An operation over it is refused by the cost plugin; it is never debited. */
  readonly maxOperationCost: number;
  /** Global fields are charged to this region. */
  readonly gatewayRegion: string;
  readonly store: BucketStore;
  /** Where the plugin's counters are registered (the gateway's /metrics). */
  readonly registry: Registry;
}

/** How often a store outage is logged (it is counted every time). */
const outageLogIntervalMs = 10_000;

/**
 * Debits the operation's cost from per-(tenant, region) token buckets before
 * any subgraph is called: the part resolved in the tenant's home region from
 * that region's bucket, the part resolved in the gateway's region from this
 * one, all or nothing. Anonymous callers share a budget per client key and
 * region. A refused operation is RATE_LIMITED (429) whole.
 */
export function rateLimitPlugin({ model, settings, maxOperationCost, gatewayRegion, store, registry }: RateLimitPluginOptions): ApolloServerPlugin<RateLimitContext> {
  const storeErrors = new Counter({
    name: 'geofed_rate_limit_store_errors_total',
    help: 'Debits that failed or timed out because the rate-limit store could not be reached, by the policy applied.',
    labelNames: ['policy'] as const,
    registers: [registry],
  });
  const limited = new Counter({
    name: 'geofed_rate_limited_total',
    help: 'Operations refused with RATE_LIMITED, by the region of the bucket with the least remaining.',
    labelNames: ['region'] as const,
    registers: [registry],
  });
  let lastOutageLog = 0;
  const sizeOf = (billingPlan: string, region: string): BucketSize => {
    const sized = settings.plans[billingPlan] ?? settings.plans[settings.defaultPlan];
    return sized?.regions[region] ?? sized ?? { capacity: settings.anonymous.capacity, refillPerSecond: settings.anonymous.refillPerSecond };
  };
  const bucketsOf = (context: RateLimitContext, home: number, local: number): BucketDebit[] => {
    const { caller } = context;
    const charges = new Map<string, number>();
    const charge = (region: string, cost: number) => cost > 0 && charges.set(region, (charges.get(region) ?? 0) + cost);
    // Anonymous callers reach only global fields in practice: all of it is charged where the gateway runs.
    charge(caller ? caller.region : gatewayRegion, home);
    charge(gatewayRegion, local);
    return [...charges].map(([region, cost]) => {
      const size = caller ? sizeOf(caller.billingPlan, region) : settings.anonymous;
      const owner = caller ? caller.tenantId : `anon:${context.clientKey}`;
      // One hash tag per owner keeps all of an operation's keys in one cluster slot, as a multi-key script needs.
      return { key: `${settings.keyPrefix}:{${owner}}:${region}`, capacity: size.capacity, refillPerSecond: size.refillPerSecond, cost };
    });
  };
  const debit = async (buckets: BucketDebit[]): Promise<DebitResult | undefined> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${settings.storeTimeoutMs} ms`)), settings.storeTimeoutMs);
      });
      return await Promise.race([store.debit(buckets), timeout]);
    } catch (error) {
      storeErrors.inc({ policy: settings.onStoreError });
      if (Date.now() - lastOutageLog > outageLogIntervalMs) {
        lastOutageLog = Date.now();
        logger.error({ err: (error as Error).message, policy: settings.onStoreError }, 'rate-limit store unreachable');
      }
      if (settings.onStoreError === 'open') return undefined;
      throw geofedError(ErrorCode.RATE_LIMIT_UNAVAILABLE, 'Budgets cannot be checked right now, so the operation was not run; retry shortly.', {}, { 'retry-after': '1' });
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    async requestDidStart() {
      let tightest: BucketState | undefined;
      return {
        async didResolveOperation({ contextValue, document, operationName, request }) {
          const estimate = model().estimate(document, operationName ?? undefined, request.variables);
          if (estimate.total > maxOperationCost) return;
          const buckets = bucketsOf(contextValue, estimate.home, estimate.local);
          if (buckets.length === 0) return;
          const result = await debit(buckets);
          if (!result) return;
          tightest = [...result.buckets].sort((a, b) => a.remaining / a.capacity - b.remaining / b.capacity)[0];
          if (result.allowed || !tightest) return;
          const refused = result.buckets.filter((bucket) => bucket.retryAfterSeconds > 0);
          const retryAfterSeconds = Math.max(...refused.map((bucket) => bucket.retryAfterSeconds));
          limited.inc({ region: tightest.key.slice(tightest.key.lastIndexOf(':') + 1) });
          throw geofedError(
            ErrorCode.RATE_LIMITED,
            `This operation costs ${estimate.total} and the budget of ${refusedOwner(refused)} has ${Math.min(...refused.map((b) => b.remaining))} left; retry in ${retryAfterSeconds} s.`,
            { cost: estimate.total, remaining: Math.min(...refused.map((bucket) => bucket.remaining)), retryAfterSeconds },
            { ...rateLimitHeaders(tightest), 'retry-after': String(retryAfterSeconds) },
          );
        },
        async willSendResponse({ response }) {
          if (!tightest) return;
          for (const [name, value] of Object.entries(rateLimitHeaders(tightest))) response.http.headers.set(name, value);
        },
      };
    },
  };
}

/** IETF RateLimit header fields, for the bucket with the least remaining. */
function rateLimitHeaders(bucket: BucketState): Record<string, string> {
  return { 'ratelimit-limit': String(bucket.capacity), 'ratelimit-remaining': String(bucket.remaining), 'ratelimit-reset': String(bucket.resetSeconds) };
}

function refusedOwner(buckets: readonly BucketState[]): string {
  return buckets.map((bucket) => `region ${bucket.key.slice(bucket.key.lastIndexOf(':') + 1)}`).join(' and ');
}
