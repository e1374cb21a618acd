import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { statusOfCode } from '../gateway/errors.js';

/**
 * DESIGN.md: the HTTP status follows the first error. Errors raised before
 * execution carry their status already; errors merged from subgraph responses
 * (which answer 200) get theirs here, from their code.
 */
export function httpStatusPlugin(): ApolloServerPlugin<BaseContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          if (response.http.status !== undefined || response.body.kind !== 'single') return;
          const code = response.body.singleResult.errors?.[0]?.extensions?.code;
          const status = typeof code === 'string' ? statusOfCode[code] : undefined;
          if (status !== undefined) response.http.status = status;
        },
      };
    },
  };
}
