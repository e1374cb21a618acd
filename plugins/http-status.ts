import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import Negotiator from 'negotiator';
import { statusOf } from '../protocol/errors.js';

const applicationJson = 'application/json; charset=utf-8';
const graphqlResponseJson = 'application/graphql-response+json; charset=utf-8';

/**
 * The HTTP status of a GraphQL response, as GraphQL over HTTP asks
 * (docs/errors.md, "HTTP status"). A response with data is a success, whatever
 * its errors say: `{ products me }` with `me`'s region down is a 200 whose
 * errors name `me`. Without data the status follows the first error's code,
 * whether the error was raised before execution (it carries its status
 * already) or merged from a subgraph's answer. With `Accept:
 * application/graphql-response+json` a `data: null` (a field error that
 * reached the root) is a 200 too, as that media type specifies; only a
 * response without `data` (a request error) is a 4xx or 5xx.
 */
export function httpStatusPlugin(): ApolloServerPlugin<BaseContext> {
  return {
    async requestDidStart({ request }) {
      const accept = request.http?.headers.get('accept');
      // The media type Apollo answers with: the same negotiation, over the same offers, in the same order.
      const answersGraphQLResponseJson = accept !== undefined && new Negotiator({ headers: { accept } }).mediaType([applicationJson, graphqlResponseJson]) === graphqlResponseJson;
      return {
        async willSendResponse({ response }) {
          if (response.body.kind !== 'single') return;
          const result = response.body.singleResult;
          if (result.data !== undefined && (result.data !== null || answersGraphQLResponseJson)) {
            // A 304 of the CDN plugin stands; an error's status does not.
            if (response.http.status === undefined || response.http.status >= 400) response.http.status = 200;
            return;
          }
          if (response.http.status !== undefined) return;
          const status = statusOf(result.errors?.[0]?.extensions?.code);
          if (status !== undefined) response.http.status = status;
        },
      };
    },
  };
}
