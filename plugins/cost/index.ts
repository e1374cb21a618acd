import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { ErrorCode, geofedError } from '../../protocol/errors.js';
import type { CostEstimate, CostModel } from './calculator.js';

export interface CostPluginOptions {
  /** The model of the supergraph being served (rebuilt on every schema load). */
  readonly model: () => CostModel;
  /** Operations estimated above this are refused before any subgraph is called. */
  readonly maxOperationCost: number;
}

/**
 * Prices every operation before it runs (the README's static cost, cached per
 * document) and refuses one over `maxOperationCost` with
 * COST_ESTIMATED_TOO_EXPENSIVE. Every response of an operation that validated
 * carries `extensions.cost`: `estimated`, and `actual` from the list sizes
 * the response really holds.
 */
export function costPlugin({ model, maxOperationCost }: CostPluginOptions): ApolloServerPlugin<BaseContext> {
  return {
    async requestDidStart() {
      let estimate: CostEstimate | undefined;
      let priced: CostModel | undefined;
      return {
        async didResolveOperation({ document, operationName, request }) {
          priced = model();
          estimate = priced.estimate(document, operationName ?? undefined, request.variables);
          if (estimate.total > maxOperationCost) {
            throw geofedError(
              ErrorCode.COST_ESTIMATED_TOO_EXPENSIVE,
              `The operation's estimated cost ${estimate.total} is over the maximum of ${maxOperationCost}: ask for fewer items (smaller "first") or split it.`,
              { cost: estimate.total, maxCost: maxOperationCost },
            );
          }
        },
        async willSendResponse({ response, document, operationName, request }) {
          if (!estimate || !priced || !document || response.body.kind !== 'single') return;
          const { data } = response.body.singleResult;
          const actual = data ? priced.actual(document, operationName ?? undefined, request.variables, data) : 0;
          response.body.singleResult.extensions = { ...response.body.singleResult.extensions, cost: { estimated: estimate.total, actual } };
        },
      };
    },
  };
}
