import type { ApolloServerPlugin } from '@apollo/server';
import type { SubgraphResponseObserver } from '../gateway/regional-data-source.js';
import type { GatewayContext } from '../gateway/request-context.js';

export interface SubgraphSession {
  readonly subgraph: string;
  readonly region: string;
  readonly [detail: string]: unknown;
}

/**
 * A test hook of the stack: the database sessions subgraphs report (their
 * `extensions.geofedSession`, see SubgraphTestHooks.reportSession) reach the
 * client in `extensions.geofedSessions`. Only a test stack installs it.
 */
export function sessionReport(): { observer: SubgraphResponseObserver; plugin: ApolloServerPlugin<GatewayContext> } {
  const sessions = new WeakMap<GatewayContext, SubgraphSession[]>();
  return {
    observer(context, response, subgraph, region) {
      const session = response.extensions?.geofedSession;
      if (!session || typeof session !== 'object') return;
      sessions.set(context, [...(sessions.get(context) ?? []), { ...(session as object), subgraph, region }]);
    },
    plugin: {
      async requestDidStart() {
        return {
          async willSendResponse({ contextValue, response }) {
            const reported = sessions.get(contextValue);
            if (!reported?.length || response.body.kind !== 'single') return;
            response.body.singleResult.extensions = { ...response.body.singleResult.extensions, geofedSessions: reported };
          },
        };
      },
    },
  };
}
