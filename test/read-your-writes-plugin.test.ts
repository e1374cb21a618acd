import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readYourWritesPlugin } from '../plugins/read-your-writes.js';

/** What the gateway's context holds: the token of the catalog writes this request made, if any. */
interface WriteContext {
  written: string | undefined;
}

const typeDefs = 'type Query { product: String } type Mutation { rename(name: String!): String fail: String! }';

let server: ApolloServer<WriteContext>;
beforeAll(async () => {
  server = new ApolloServer<WriteContext>({
    typeDefs,
    resolvers: {
      Query: { product: () => 'Lamp' },
      // The data source records the write's position as the response of the catalog arrives.
      Mutation: {
        rename: (_: unknown, { name }: { name: string }, context: WriteContext) => {
          context.written = '0/16B3748';
          return name;
        },
        fail: () => {
          throw new Error('second write failed');
        },
      },
    },
    plugins: [ApolloServerPluginCacheControlDisabled(), readYourWritesPlugin<WriteContext>((context) => context.written)],
  });
  await server.start();
});
afterAll(async () => {
  await server.stop();
});

async function run(query: string) {
  const response = await server.executeOperation({ query }, { contextValue: { written: undefined } });
  const single = response.body.kind === 'single' ? response.body.singleResult : undefined;
  return { headers: Object.fromEntries(response.http.headers), data: single?.data, extensions: single?.extensions };
}

describe('readYourWritesPlugin', () => {
  it('returns the token of the operation\'s write in the header and in extensions', async () => {
    expect(await run('mutation { rename(name: "Desk") }')).toEqual({
      headers: { 'geofed-consistency': '0/16B3748' },
      data: { rename: 'Desk' },
      extensions: { consistency: '0/16B3748' },
    });
  });

  it('adds nothing to an operation that wrote nothing', async () => {
    expect(await run('{ product }')).toEqual({ headers: {}, data: { product: 'Lamp' }, extensions: undefined });
  });

  it('returns the token of a write that an error followed: the write happened all the same', async () => {
    expect(await run('mutation { rename(name: "Desk") fail }')).toEqual({
      headers: { 'geofed-consistency': '0/16B3748' },
      data: null,
      extensions: { consistency: '0/16B3748' },
    });
  });
});
