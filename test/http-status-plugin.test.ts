import { ApolloServer, HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { GraphQLError } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { geofedError } from '../protocol/errors.js';
import { httpStatusPlugin } from '../plugins/http-status.js';

const typeDefs = /* GraphQL */ `
  type Query { ok: String! region: String! nearby: String teapot: String! plain: String! refused: String! }
`;
// What a subgraph answers and Apollo Gateway merges: an error with a code and no status of its own.
const coded = (code: string) => () => {
  throw new GraphQLError(`failed with ${code}`, { extensions: { code } });
};

/** Refuses `refused` before execution the way geofed's plugins do, with the status in extensions.http. */
const refusing: ApolloServerPlugin = {
  async requestDidStart() {
    return {
      async didResolveOperation({ operationName }) {
        if (operationName === 'Refused') throw geofedError('RATE_LIMITED', 'slow down');
      },
    };
  },
};

let server: ApolloServer;
beforeAll(async () => {
  server = new ApolloServer({
    typeDefs,
    resolvers: {
      Query: {
        ok: () => 'fine',
        region: coded('REGION_UNAVAILABLE'),
        nearby: coded('REGION_UNAVAILABLE'),
        teapot: coded('TEAPOT'),
        plain: () => {
          throw new Error('boom');
        },
        refused: () => 'never',
      },
    },
    plugins: [ApolloServerPluginCacheControlDisabled(), refusing, httpStatusPlugin()],
  });
  await server.start();
});
afterAll(async () => {
  await server.stop();
});

async function run(query: string, accept?: string) {
  const response = await server.executeOperation({ query, ...(accept ? { http: { method: 'POST', headers: new HeaderMap([['accept', accept]]), search: '', body: undefined } } : {}) });
  const single = response.body.kind === 'single' ? response.body.singleResult : undefined;
  return { status: response.http.status, data: single?.data, codes: single?.errors?.map((error) => error.extensions?.code) };
}

describe('httpStatusPlugin', () => {
  it('answers 200 for a response without errors', async () => {
    expect(await run('{ ok }')).toEqual({ status: 200, data: { ok: 'fine' }, codes: undefined });
  });

  it('gives a response without data the status of its first error\'s code', async () => {
    expect(await run('{ region }')).toEqual({ status: 503, data: null, codes: ['REGION_UNAVAILABLE'] });
    // Apollo codes an error without one INTERNAL_SERVER_ERROR.
    expect(await run('{ plain }')).toEqual({ status: 500, data: null, codes: ['INTERNAL_SERVER_ERROR'] });
  });

  it('answers 200 for partial data: the errors are in the body', async () => {
    expect(await run('{ ok nearby }')).toEqual({ status: 200, data: { ok: 'fine', nearby: null }, codes: ['REGION_UNAVAILABLE'] });
  });

  it('gives data whose every root field is null next to errors the error\'s status under application/json, and 200 under graphql-response+json', async () => {
    expect(await run('{ nearby }')).toEqual({ status: 503, data: { nearby: null }, codes: ['REGION_UNAVAILABLE'] });
    expect(await run('{ nearby }', 'application/graphql-response+json')).toEqual({ status: 200, data: { nearby: null }, codes: ['REGION_UNAVAILABLE'] });
  });

  it('answers 200 for data: null under application/graphql-response+json, and keeps request errors 4xx', async () => {
    const accept = 'application/graphql-response+json';
    expect(await run('{ region }', accept)).toEqual({ status: 200, data: null, codes: ['REGION_UNAVAILABLE'] });
    expect(await run('{ nope }', accept)).toEqual({ status: 400, data: undefined, codes: ['GRAPHQL_VALIDATION_FAILED'] });
    expect(await run('query Refused { refused }', accept)).toEqual({ status: 429, data: undefined, codes: ['RATE_LIMITED'] });
    // application/json first among equals, as Apollo negotiates it: the legacy statuses.
    expect(await run('{ region }', 'application/json, application/graphql-response+json')).toMatchObject({ status: 503 });
  });

  it('leaves the status alone for a code outside the registry', async () => {
    expect(await run('{ teapot }')).toEqual({ status: undefined, data: null, codes: ['TEAPOT'] });
  });

  it('keeps the status an error raised before execution already carries', async () => {
    expect(await run('query Refused { refused }')).toEqual({ status: 429, data: undefined, codes: ['RATE_LIMITED'] });
    expect(await run('{ nope }')).toEqual({ status: 400, data: undefined, codes: ['GRAPHQL_VALIDATION_FAILED'] });
  });
});
