import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { attachConsistencyToken } from '../protocol/consistency-token.js';

/**
 * Read-your-writes, the gateway's response side: a response whose operation
 * wrote to the catalog carries the write's token (`geofed-consistency` and
 * `extensions.consistency`). The request side (the client's token checked and
 * passed to every catalog fetch in the signed context) lives in the request
 * context and the data source.
 */
export function readYourWritesPlugin<TContext extends BaseContext>(tokenOf: (context: TContext) => string | undefined): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, response }) {
          const token = tokenOf(contextValue);
          if (token !== undefined) attachConsistencyToken(response, token);
        },
      };
    },
  };
}
