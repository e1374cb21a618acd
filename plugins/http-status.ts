import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { statusOf } from '../protocol/errors.js';

/**
 * The HTTP status follows the first error (README, "Errors"). Errors raised before
 * execution carry their status already; errors merged from subgraph responses
 * (which answer 200) get theirs here, from their code.
 */
export function httpStatusPlugin(): ApolloServerPlugin<BaseContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          if (response.http.status !== undefined || response.body.kind !== 'single') return;
          const status = statusOf(response.body.singleResult.errors?.[0]?.extensions?.code);
          if (status !== undefined) response.http.status = status;
        },
      };
    },
  };
}
