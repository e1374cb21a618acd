import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { GatewayContext } from '../gateway/context.js';
import { consistencyHeader } from '../gateway/consistency-token.js';

/**
 * Read-your-writes, response side: a response whose operation wrote to the
 * catalog carries the write's token in the `geofed-consistency` header and in
 * `extensions.consistency`. The catalog answers the gateway that way, and the
 * gateway its client. The request side (the token checked and passed to every
 * catalog fetch in the signed context) lives in the gateway's context function
 * and data source.
 */
export function readYourWritesPlugin<TContext extends BaseContext>(tokenOf: (context: TContext) => string | undefined): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, response }) {
          const token = tokenOf(contextValue);
          if (token === undefined) return;
          response.http.headers.set(consistencyHeader, token);
          if (response.body.kind === 'single') response.body.singleResult.extensions = { ...response.body.singleResult.extensions, consistency: token };
        },
      };
    },
  };
}

/** Test-only: passes the sessions subgraphs reported on to the client, in `extensions.geofedSessions`. */
export function subgraphSessionsPlugin(): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, response }) {
          if (!contextValue.subgraphSessions?.length || response.body.kind !== 'single') return;
          response.body.singleResult.extensions = { ...response.body.singleResult.extensions, geofedSessions: contextValue.subgraphSessions };
        },
      };
    },
  };
}
