import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { healthExtension, type HealthDetail } from '../../protocol/health.js';

/**
 * Answers the gateway's health probe (protocol/health.ts) with the state of
 * the instance's read replica: whether reads go to it and how far behind the
 * primary its last health check found it. Only a request that asks, with the
 * probe's extension, gets it: the request is signed like any other, so only
 * a gateway can ask.
 */
export function healthReportPlugin(replica: () => HealthDetail['replica']): ApolloServerPlugin<BaseContext> {
  return {
    async requestDidStart({ request }) {
      if (request.extensions?.[healthExtension] !== true) return;
      return {
        async willSendResponse({ response }) {
          if (response.body.kind !== 'single') return;
          const detail: HealthDetail = { replica: replica() };
          response.body.singleResult.extensions = { ...response.body.singleResult.extensions, [healthExtension]: detail };
        },
      };
    },
  };
}
