import { HeaderMap, type ApolloServerPlugin, type BaseContext, type GraphQLRequestContext, type GraphQLResponse } from '@apollo/server';
import { Counter, type Registry } from 'prom-client';
import { registeredMetric } from '../runtime/registered-metric.js';

export interface OperationDedupOptions<TContext extends BaseContext> {
  /**
   * Who is asking, exactly (every value the answer may depend on besides the
   * operation and its variables), or undefined when the request must run on
   * its own. Two requests share an execution only when this is equal.
   */
  readonly callerIdentity: (context: TContext, request: GraphQLRequestContext<TContext>) => string | undefined;
  /** Copies what the execution left in the context (regions that served it, say) to a request that joined it. */
  readonly shareContext: (from: TContext, to: TContext) => void;
  /** Where `geofed_operations_deduplicated_total` is counted. */
  readonly registry: Registry;
}

type CachePolicy = GraphQLRequestContext<BaseContext>['overallCachePolicy'];

interface SharedExecution<TContext> {
  readonly answer: Promise<{ readonly body: GraphQLResponse['body'] | undefined; readonly context: TContext; readonly cachePolicy: CachePolicy }>;
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
  const inFlight = new Map<string, SharedExecution<TContext>>();
  const joined = registeredMetric(
    registry,
    'geofed_operations_deduplicated_total',
    () => new Counter({ name: 'geofed_operations_deduplicated_total', help: 'Queries answered by the same caller\'s identical query in flight, never planned or fetched themselves.', registers: [registry] }),
  );
  return {
    async requestDidStart() {
      let leading: { readonly key: string; settle(request: GraphQLRequestContext<TContext>): void } | undefined;
      return {
        async responseForOperation(request) {
          if (request.operation?.operation !== 'query') return null;
          const identity = callerIdentity(request.contextValue, request);
          if (identity === undefined) return null;
          const key = `${identity}\0${request.queryHash}\0${request.operationName ?? ''}\0${JSON.stringify(request.request.variables ?? {})}`;
          const shared = inFlight.get(key);
          if (shared) {
            const { body, context, cachePolicy } = await shared.answer;
            const copy = ownCopy(body);
            if (!copy) return null;
            joined.inc();
            shareContext(context, request.contextValue);
            request.overallCachePolicy.replace(cachePolicy);
            return copy;
          }
          let settle!: (request: GraphQLRequestContext<TContext>) => void;
          const answer = new Promise<{ body: GraphQLResponse['body'] | undefined; context: TContext; cachePolicy: CachePolicy }>((resolve) => {
            settle = ({ response, contextValue, overallCachePolicy }) => resolve({ body: response.body, context: contextValue, cachePolicy: overallCachePolicy });
          });
          inFlight.set(key, { answer });
          leading = { key, settle };
          return null;
        },
        async willSendResponse(request) {
          if (!leading) return;
          inFlight.delete(leading.key);
          leading.settle(request);
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
