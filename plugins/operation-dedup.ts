import { HeaderMap, type ApolloServerPlugin, type BaseContext, type GraphQLRequestContext, type GraphQLResponse } from '@apollo/server';
import { Counter, type Registry } from 'prom-client';
import { registeredMetric } from '../runtime/registered-metric.js';

export interface OperationDedupOptions<TContext extends BaseContext> {
  /**
   * Who is asking, exactly (every value the answer may depend on besides the
   * operation and its variables). Two requests share an execution only when
   * this is equal.
   */
  readonly callerIdentity: (request: GraphQLRequestContext<TContext>) => string;
  /** Copies what the execution left in the context (regions that served it, say) to a request that joined it. */
  readonly shareContext: (from: TContext, to: TContext) => void;
  /** Where `geofed_operations_deduplicated_total` is counted. */
  readonly registry: Registry;
}

type CachePolicy = GraphQLRequestContext<BaseContext>['overallCachePolicy'];

/** What the execution left for the requests that joined it. */
interface Answer<TContext> {
  readonly body: GraphQLResponse['body'] | undefined;
  readonly context: TContext;
  readonly cachePolicy: CachePolicy;
}

/**
 * Inbound deduplication, per caller: while one caller's query runs, the same
 * caller's identical queries (same document, operation name and variables)
 * wait for its answer instead of planning and fetching again, as Hive
 * Gateway's inbound deduplication does, but never across callers. Each
 * request still passes every plugin before this one (persisted queries,
 * limits, residency, cost, its own budget debit) and every response hook
 * after it. Nothing is kept once the answer is in: this is never a cache.
 * Mutations and subscriptions always run on their own.
 */
export function operationDedupPlugin<TContext extends BaseContext>({ callerIdentity, shareContext, registry }: OperationDedupOptions<TContext>): ApolloServerPlugin<TContext> {
  const inFlight = new Map<string, Promise<Answer<TContext>>>();
  const joined = registeredMetric(
    registry,
    'geofed_operations_deduplicated_total',
    () => new Counter({ name: 'geofed_operations_deduplicated_total', help: 'Queries answered by the same caller\'s identical query in flight, never planned or fetched themselves.', registers: [registry] }),
  );
  return {
    async requestDidStart() {
      let leading: { readonly key: string; settle(answer: Answer<TContext>): void } | undefined;
      return {
        async responseForOperation(request) {
          if (request.operation?.operation !== 'query') return null;
          const key = `${callerIdentity(request)}\0${request.queryHash}\0${request.operationName ?? ''}\0${JSON.stringify(request.request.variables ?? {})}`;
          const shared = inFlight.get(key);
          if (shared) {
            const { body, context, cachePolicy } = await shared;
            const copy = ownCopy(body);
            if (!copy) return null;
            joined.inc();
            shareContext(context, request.contextValue);
            request.overallCachePolicy.replace(cachePolicy);
            return copy;
          }
          let settle!: (answer: Answer<TContext>) => void;
          inFlight.set(key, new Promise((resolve) => (settle = resolve)));
          leading = { key, settle };
          return null;
        },
        async willSendResponse(request) {
          if (!leading) return;
          inFlight.delete(leading.key);
          leading.settle({ body: request.response.body, context: request.contextValue, cachePolicy: request.overallCachePolicy });
        },
      };
    },
  };
}

/**
 * The same data, with a result and extensions of its own (later plugins write their own extensions into it);
 * headers and status are the joining request's own, written by its plugins.
 */
function ownCopy(body: GraphQLResponse['body'] | undefined): GraphQLResponse | null {
  if (body?.kind !== 'single') return null;
  const { extensions, ...rest } = body.singleResult;
  return { http: { status: undefined, headers: new HeaderMap() }, body: { kind: 'single', singleResult: { ...rest, ...(extensions ? { extensions: { ...extensions } } : {}) } } };
}
