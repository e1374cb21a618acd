import type { ApolloServerPlugin } from '@apollo/server';
import type { Registry } from 'prom-client';
import { ErrorCode, geofedError } from '../../protocol/errors.js';
import { logger } from '../../runtime/logger.js';
import type { CostModel } from '../cost/calculator.js';
import { policyStates, rateLimitHeaders, regionOfBucket, type PolicyState } from './headers.js';
import { localBudgets } from './local-budgets.js';
import { rateLimitMetrics } from './metrics.js';
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
  /** An operation over it is refused by the cost plugin and never debited (Infinity when cost.mode is measure: every operation runs). */
  readonly maxOperationCost: number;
  /** Global fields are charged to this region. */
  readonly gatewayRegion: string;
  readonly store: BucketStore;
  /** Where the plugin's counters are registered (the gateway's /metrics). */
  readonly registry: Registry;
  /** The clock of the local shares (on_store_error: open). @default Date.now */
  readonly now?: () => number;
}

/**
 * A debit's verdict and who gave it: the shared store, this gateway's local
 * share while the store cannot answer (on_store_error: open), or nobody (the
 * store cannot answer and the policy is closed or unmetered).
 */
type Verdict = { readonly by: 'store' | 'local'; readonly result: DebitResult } | { readonly by: 'nobody' };

/** extensions.rateLimit of a response in measure mode: what enforce would have decided, and from what. */
export type MeasuredRateLimit =
  | {
      readonly mode: 'measure';
      readonly cost: number;
      /** True when the buckets could not pay: enforce would have answered RATE_LIMITED. */
      readonly exceeded: boolean;
      /** Of the bucket with the least left in proportion, or of the least of those that could not pay. */
      readonly remaining: number;
      readonly retryAfterSeconds?: number;
      /** Decided by this gateway's share of the buckets: the store could not answer. */
      readonly local?: true;
    }
  | {
      readonly mode: 'measure';
      readonly cost: number;
      /** The store could not answer and no share decided: enforce would have refused (closed) or admitted unpriced (unmetered). */
      readonly storeUnavailable: true;
    };

/** How often a store outage is logged (it is counted every time). */
const outageLogIntervalMs = 10_000;

/**
 * Debits the operation's cost from per-(tenant, region) token buckets before
 * any subgraph is called: the part resolved in the tenant's home region from
 * that region's bucket, the part resolved in the gateway's region from this
 * one, all or nothing. Anonymous callers share a budget per client key and
 * region. A refused operation is RATE_LIMITED (429) whole. A debit the store
 * cannot answer within store_timeout_ms follows on_store_error: `open` debits
 * this gateway's local share of the buckets instead (local-budgets.ts),
 * `closed` refuses the operation, `unmetered` admits it unpriced. In
 * `measure` mode (rate_limits.mode) the same debits are made and nothing is
 * refused: the verdict goes to extensions.rateLimit and to metrics.
 */
export function rateLimitPlugin({ model, settings, maxOperationCost, gatewayRegion, store, registry, now = Date.now }: RateLimitPluginOptions): ApolloServerPlugin<RateLimitContext> {
  const { storeErrors, limited, measuredExceeded, fallbackDebits, storeErrorRefusals, decisions, fill, spentBuckets, debitSeconds } = rateLimitMetrics(registry);
  const measuring = settings.mode === 'measure';
  const shares = localBudgets({ gateways: settings.gateways, maxBuckets: settings.fallbackBuckets, now });
  let lastOutageLog = 0;
  const sizeOf = (billingPlan: string, region: string): BucketSize => {
    const sized = settings.billingPlans[billingPlan] ?? settings.billingPlans[settings.defaultBillingPlan];
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
  /** The store's verdict within store_timeout_ms; else a local share's (open), or nobody's (closed, unmetered). */
  const debit = async (buckets: BucketDebit[]): Promise<Verdict> => {
    let timer: NodeJS.Timeout | undefined;
    const started = performance.now();
    const answer = asked(() => store.debit(buckets));
    try {
      // Timers run before the event loop reads sockets: one more turn lets an answer that has already arrived
      // (while this process was busy) win over the timeout.
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => setImmediate(() => reject(new Error(`no answer within ${settings.storeTimeoutMs} ms`))), settings.storeTimeoutMs);
      });
      const result = await Promise.race([answer, timeout]);
      debitSeconds.observe({ outcome: 'answered' }, (performance.now() - started) / 1000);
      shares.observe(buckets, result);
      return { by: 'store', result };
    } catch (error) {
      debitSeconds.observe({ outcome: 'failed' }, (performance.now() - started) / 1000);
      // A debit that timed out may still be applied by the store; an answer that comes late still says what is left.
      answer.then((late) => shares.observe(buckets, late), () => undefined);
      storeErrors.inc({ policy: settings.onStoreError });
      if (Date.now() - lastOutageLog > outageLogIntervalMs) {
        lastOutageLog = Date.now();
        logger.error({ err: (error as Error).message, policy: settings.onStoreError }, 'rate-limit store unreachable');
      }
      if (settings.onStoreError !== 'open') return { by: 'nobody' };
      const result = shares.debit(buckets);
      fallbackDebits.inc({ outcome: result.allowed ? 'admitted' : 'refused' });
      return { by: 'local', result };
    } finally {
      clearTimeout(timer);
    }
  };
  /** The fill of every bucket the store answered for; a tenant's (never an anonymous client's) also for the top of spent buckets. */
  const observeFill = ({ caller }: RateLimitContext, buckets: readonly BucketDebit[], result: DebitResult) => {
    result.buckets.forEach((state, i) => {
      const region = regionOfBucket(state.key);
      fill.observe({ region }, state.remaining / state.capacity);
      if (caller) spentBuckets.observe({ region, tenant: caller.tenantId, capacity: state.capacity, refillPerSecond: buckets[i]?.refillPerSecond ?? 0, remaining: state.remaining });
    });
  };
  return {
    async requestDidStart() {
      let policies: PolicyState[] | undefined;
      let measured: MeasuredRateLimit | undefined;
      return {
        async didResolveOperation({ contextValue, document, operationName, request }) {
          const estimate = model().estimate(document, operationName ?? undefined, request.variables);
          if (estimate.total > maxOperationCost) return;
          const buckets = bucketsOf(contextValue, estimate.home, estimate.local);
          if (buckets.length === 0) return;
          const cost = estimate.total;
          const verdict = await debit(buckets);
          if (verdict.by !== 'store') decisions.inc({ region: regionOfBucket(buckets[0]!.key), decision: 'fallback' });
          if (verdict.by === 'nobody') {
            if (measuring) measured = { mode: 'measure', cost, storeUnavailable: true };
            else if (settings.onStoreError === 'closed') {
              storeErrorRefusals.inc({ policy: 'closed' });
              throw geofedError(ErrorCode.RATE_LIMIT_UNAVAILABLE, 'Budgets cannot be checked right now, so the operation was not run; retry shortly.', {}, { 'retry-after': '1' });
            }
            return;
          }
          const { result } = verdict;
          const local = verdict.by === 'local';
          const least = [...result.buckets].sort((a, b) => a.remaining / a.capacity - b.remaining / b.capacity)[0];
          // A local share is not the shared bucket: no RateLimit fields describe it.
          if (!local) {
            policies = policyStates(buckets, result.buckets);
            observeFill(contextValue, buckets, result);
          }
          if (!least) return;
          if (!local) decisions.inc({ region: regionOfBucket(least.key), decision: result.allowed ? 'allowed' : 'limited' });
          const decidedLocally = local ? { local: true as const } : {};
          if (result.allowed) {
            if (measuring) measured = { mode: 'measure', cost, exceeded: false, remaining: least.remaining, ...decidedLocally };
            return;
          }
          const refused = result.buckets.filter((bucket) => bucket.retryAfterSeconds > 0);
          const retryAfterSeconds = Math.max(...refused.map((bucket) => bucket.retryAfterSeconds));
          const remaining = Math.min(...refused.map((bucket) => bucket.remaining));
          const region = regionOfBucket(least.key);
          if (measuring) {
            // Refused by the buckets, so nothing was taken from them: they stay as enforce would have left them.
            measuredExceeded.inc({ region });
            measured = { mode: 'measure', cost, exceeded: true, remaining, retryAfterSeconds, ...decidedLocally };
            return;
          }
          limited.inc({ region });
          if (local) storeErrorRefusals.inc({ policy: 'open' });
          throw geofedError(
            ErrorCode.RATE_LIMITED,
            local
              ? `This operation costs ${cost} and this gateway's share of the budget of ${refusedOwner(refused)} has ${remaining} left while the budget store cannot be reached; retry in ${retryAfterSeconds} s.`
              : `This operation costs ${cost} and the budget of ${refusedOwner(refused)} has ${remaining} left; retry in ${retryAfterSeconds} s.`,
            { cost, remaining, retryAfterSeconds },
            { ...(policies ? rateLimitHeaders(policies) : {}), 'retry-after': String(retryAfterSeconds) },
          );
        },
        async willSendResponse({ response }) {
          // A public response drops them again (cdn-cache.ts): a shared cache would hand one client's budget to the next.
          if (policies) for (const [name, value] of Object.entries(rateLimitHeaders(policies))) response.http.headers.set(name, value);
          if (measured && response.body.kind === 'single') response.body.singleResult.extensions = { ...response.body.singleResult.extensions, rateLimit: measured };
        },
      };
    },
  };
}

/** A store that throws instead of rejecting is a store error like any other. */
function asked<T>(call: () => Promise<T>): Promise<T> {
  try {
    return call();
  } catch (error) {
    return Promise.reject(error as Error);
  }
}

function refusedOwner(buckets: readonly BucketState[]): string {
  return buckets.map((bucket) => `region ${regionOfBucket(bucket.key)}`).join(' and ');
}
