import type { ApolloServerPlugin } from '@apollo/server';
import { attachConsistencyToken } from '../../protocol/consistency-token.js';
import type { CatalogContext } from './resolvers.js';

/** A catalog write answers with the primary's WAL position after its commit: the client's read-your-writes token. */
export function catalogConsistencyPlugin(): ApolloServerPlugin<CatalogContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, response }) {
          if (contextValue.written.token !== undefined) attachConsistencyToken(response, contextValue.written.token);
        },
      };
    },
  };
}
