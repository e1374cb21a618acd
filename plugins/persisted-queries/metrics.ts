import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { Counter, type Registry } from 'prom-client';
import { ErrorCode } from '../../protocol/errors.js';
import { registeredMetric } from '../../runtime/registered-metric.js';

/**
 * `geofed_apq_requests_total{outcome}`: requests that carry a persisted-query
 * hash, by what became of it: `hit` (sent by hash alone and found, in the
 * manifest or the APQ store), `miss` (sent by hash alone and not found:
 * PERSISTED_QUERY_NOT_FOUND, the client sends the body next) and `registered`
 * (sent with its body, which is kept for the next time). hit / (hit + miss)
 * is the APQ hit ratio. Read from what Apollo's own APQ handling recorded
 * on the request, so it counts exactly what Apollo did.
 */
export function persistedQueryMetricsPlugin(registry: Registry): ApolloServerPlugin<BaseContext> {
  const requests = registeredMetric(
    registry,
    'geofed_apq_requests_total',
    () => new Counter({ name: 'geofed_apq_requests_total', help: 'Requests with a persisted-query hash, by outcome: hit (found by hash), miss (PERSISTED_QUERY_NOT_FOUND) or registered (sent with its body).', labelNames: ['outcome'] as const, registers: [registry] }),
  );
  for (const outcome of ['hit', 'miss', 'registered']) requests.inc({ outcome }, 0);
  return {
    async requestDidStart({ request }) {
      if (request.extensions?.persistedQuery === undefined) return;
      return {
        async willSendResponse({ metrics, response }) {
          if (metrics.persistedQueryHit) return requests.inc({ outcome: 'hit' });
          if (metrics.persistedQueryRegister) return requests.inc({ outcome: 'registered' });
          const errors = response.body.kind === 'single' ? response.body.singleResult.errors : undefined;
          if (errors?.some((error) => error.extensions?.code === ErrorCode.PERSISTED_QUERY_NOT_FOUND)) requests.inc({ outcome: 'miss' });
        },
      };
    },
  };
}
