import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import Negotiator from 'negotiator';
import { statusOf } from '../protocol/errors.js';

const applicationJson = 'application/json; charset=utf-8';
const graphqlResponseJson = 'application/graphql-response+json; charset=utf-8';

/**
 * The HTTP status of a GraphQL response, as GraphQL over HTTP asks
 * (docs/errors.md, "HTTP status"). A response with data is a success, whatever
 * its errors say: `{ products me }` with `me`'s region down is a 200 whose
 * errors name `me`. Under `application/json` a response that holds no data
 * at all (no `data`, `data: null`, or every root field null next to errors)
 * takes the status of its first error's code, whether the error was raised
 * before execution (it carries its status already) or merged from a
 * subgraph's answer: a shed request stays a 503 with `Retry-After`, so load
 * balancers and clients back off. With `Accept:
 * application/graphql-response+json` any `data` entry is a 200, as that media
 * type specifies; only a response without `data` (a request error) is a 4xx or
 * 5xx.
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
          const answered = answersGraphQLResponseJson ? result.data !== undefined : holdsData(result.data, result.errors?.length ?? 0);
          if (answered) {
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

function holdsData(data: Record<string, unknown> | null | undefined, errorCount: number): boolean {
  if (data === undefined || data === null) return false;
  return errorCount === 0 || Object.values(data).some((value) => value !== null);
}
