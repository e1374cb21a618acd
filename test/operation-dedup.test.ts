import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operationDedupPlugin } from '../plugins/operation-dedup.js';

// One caller's identical queries in flight at once run once; every request gets the answer. The resolver is held
// until every request of a burst has reached the dedup plugin (a plugin before it counts them), so the burst is
// truly concurrent whatever the machine's speed.
interface Context {
  readonly caller: string;
  readonly served: Set<string>;
}

const typeDefs = /* GraphQL */ `
  type Query { stock(sku: String!): Int }
  type Mutation { reserve(sku: String!): Int }
`;

let resolved = 0;
let arrived = 0;
let expected = 0;
let release: () => void = () => {};
let held = Promise.resolve();
const hold = () => {
  resolved += 1;
  return held.then(() => 7);
};
const countArrivals: ApolloServerPlugin<Context> = {
  async requestDidStart() {
    return {
      async responseForOperation() {
        arrived += 1;
        if (arrived === expected) release();
        return null;
      },
    };
  },
};
const servedBy: ApolloServerPlugin<Context> = {
  async requestDidStart() {
    return { async executionDidStart({ contextValue }) { contextValue.served.add('eu'); } };
  },
};

let server: ApolloServer<Context>;
beforeAll(async () => {
  server = new ApolloServer<Context>({
    typeDefs,
    resolvers: { Query: { stock: hold }, Mutation: { reserve: hold } },
    plugins: [
      countArrivals,
      operationDedupPlugin<Context>({ callerIdentity: ({ contextValue }) => contextValue.caller, shareContext: (from, to) => from.served.forEach((r) => to.served.add(r)), registry: new Registry() }),
      servedBy,
    ],
  });
  await server.start();
});
afterAll(async () => {
  await server.stop();
});

/** Sends `requests` at once (each a query, its variables and its caller) and answers them once all are in. */
async function burst(requests: { query: string; variables?: Record<string, unknown>; caller: string }[]) {
  resolved = 0;
  arrived = 0;
  expected = requests.length;
  held = new Promise((resolve) => (release = resolve));
  const answers = await Promise.all(
    requests.map(async ({ query, variables, caller }) => {
      const contextValue: Context = { caller, served: new Set() };
      const response = await server.executeOperation({ query, ...(variables ? { variables } : {}) }, { contextValue });
      return { result: response.body.kind === 'single' ? response.body.singleResult : undefined, served: [...contextValue.served] };
    }),
  );
  return { answers, resolved };
}

const stock = 'query Stock($sku: String!) { stock(sku: $sku) }';

describe('operationDedupPlugin', () => {
  it('runs one caller\'s identical queries once and answers each, with what the run left in the context', async () => {
    const { answers, resolved } = await burst(Array.from({ length: 5 }, () => ({ query: stock, variables: { sku: 'a' }, caller: 'tenant:acme/usr_1' })));
    expect(resolved).toBe(1);
    expect(answers).toEqual(Array(5).fill({ result: { data: { stock: 7 } }, served: ['eu'] }));
  });

  it('never shares between callers, nor between other variables', async () => {
    const { answers, resolved } = await burst([
      { query: stock, variables: { sku: 'a' }, caller: 'tenant:acme/usr_1' },
      { query: stock, variables: { sku: 'a' }, caller: 'tenant:acme/usr_2' },
      { query: stock, variables: { sku: 'b' }, caller: 'tenant:acme/usr_1' },
    ]);
    expect(resolved).toBe(3);
    expect(answers.map((a) => a.result)).toEqual(Array(3).fill({ data: { stock: 7 } }));
  });

  it('runs every mutation on its own', async () => {
    const { resolved } = await burst(Array.from({ length: 3 }, () => ({ query: 'mutation { reserve(sku: "a") }', caller: 'tenant:acme/usr_1' })));
    expect(resolved).toBe(3);
  });

  it('keeps nothing once answered: the next identical query runs again', async () => {
    await burst([{ query: stock, variables: { sku: 'a' }, caller: 'tenant:acme/usr_1' }]);
    const { resolved } = await burst([{ query: stock, variables: { sku: 'a' }, caller: 'tenant:acme/usr_1' }]);
    expect(resolved).toBe(1);
  });
});
