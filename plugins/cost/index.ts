import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { Counter, Histogram, type Registry } from 'prom-client';
import { ErrorCode, geofedError } from '../../protocol/errors.js';
import { registeredMetric } from '../../runtime/registered-metric.js';
import type { CostEstimate, CostModel } from './calculator.js';
import type { LimitMode } from './settings.js';

export interface CostPluginOptions {
  /** The model of the supergraph being served (rebuilt on every schema load). */
  readonly model: () => CostModel;
  /** Operations estimated above this are refused before any subgraph is called (in `enforce` mode). */
  readonly maxOperationCost: number;
  /** `enforce` refuses an operation over `maxOperationCost`; `measure` serves it and says so in extensions.cost. @default 'enforce' */
  readonly mode?: LimitMode;
  /** Where the plugin's series are registered (the gateway's /metrics). */
  readonly registry: Registry;
}

/**
 * Prices every operation before it runs (the README's static cost, cached per
 * document) and refuses one over `maxOperationCost` with
 * COST_ESTIMATED_TOO_EXPENSIVE. Every response of an operation that validated
 * carries `extensions.cost`: `estimated`, and `actual` from the list sizes
 * the response really holds. In `measure` mode nothing is refused, and
 * `extensions.cost` also carries the mode, `maxCost` and whether the estimate
 * exceeded it.
 */
export function costPlugin({ model, maxOperationCost, mode = 'enforce', registry }: CostPluginOptions): ApolloServerPlugin<BaseContext> {
  // The gateway builds its plugins again on every reload with the same registry: the series count on.
  const estimated = registeredMetric(
    registry,
    'geofed_operation_estimated_cost',
    () =>
      new Histogram({
        name: 'geofed_operation_estimated_cost',
        help: 'Estimated cost of every operation that validated, refused or not: what cost.max_operation_cost is compared with.',
        buckets: [1, 5, 10, 50, 100, 500, 1_000, 5_000, 10_000, 50_000, 100_000],
        registers: [registry],
      }),
  );
  const overMax = registeredMetric(
    registry,
    'geofed_cost_over_max_total',
    () =>
      new Counter({
        name: 'geofed_cost_over_max_total',
        help: 'Operations estimated over cost.max_operation_cost, by cost.mode: enforce (refused with COST_ESTIMATED_TOO_EXPENSIVE) or measure (served).',
        labelNames: ['mode'] as const,
        registers: [registry],
      }),
  );
  return {
    async requestDidStart() {
      let estimate: CostEstimate | undefined;
      let priced: CostModel | undefined;
      return {
        async didResolveOperation({ document, operationName, request }) {
          priced = model();
          estimate = priced.estimate(document, operationName ?? undefined, request.variables);
          estimated.observe(estimate.total);
          if (estimate.total <= maxOperationCost) return;
          overMax.inc({ mode });
          if (mode === 'measure') return;
          throw geofedError(
            ErrorCode.COST_ESTIMATED_TOO_EXPENSIVE,
            `The operation's estimated cost ${estimate.total} is over the maximum of ${maxOperationCost}: ask for fewer items (smaller "first") or split it.`,
            { cost: estimate.total, maxCost: maxOperationCost },
          );
        },
        async willSendResponse({ response, document, operationName, request }) {
          if (!estimate || !priced || !document || response.body.kind !== 'single') return;
          const { data } = response.body.singleResult;
          const actual = data ? priced.actual(document, operationName ?? undefined, request.variables, data) : 0;
          const measured = mode === 'measure' ? { mode, maxCost: maxOperationCost, exceeded: estimate.total > maxOperationCost } : {};
          response.body.singleResult.extensions = { ...response.body.singleResult.extensions, cost: { estimated: estimate.total, actual, ...measured } };
        },
      };
    },
  };
}
