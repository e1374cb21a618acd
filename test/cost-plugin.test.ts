import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildCostModel } from '../plugins/cost/calculator.js';
import { costPlugin } from '../plugins/cost/index.js';

// The cost spec's directives declared by hand: the model reads them from plain SDL as from a supergraph.
const typeDefs = /* GraphQL */ `
  directive @cost(weight: Int!) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | INPUT_FIELD_DEFINITION | OBJECT | SCALAR
  directive @listSize(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!], requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION
  type Review { id: ID! stars: Int! }
  type Product { id: ID! name: String! reviews: [Review!]! @listSize(assumedSize: 5) }
  type Query {
    products(first: Int = 10): [Product!]! @listSize(slicingArguments: ["first"], requireOneSlicingArgument: false)
    report: String @cost(weight: 7)
  }
  type Mutation { addProduct(name: String!): Product! }
`;

const product = (id: string, reviews: number) => ({ id, name: `Product ${id}`, reviews: Array.from({ length: reviews }, (_, i) => ({ id: `${id}-r${i}`, stars: 5 })) });
const resolvers = {
  Query: { products: vi.fn(() => [product('p1', 1), product('p2', 0)]), report: vi.fn(() => 'fine') },
  Mutation: { addProduct: vi.fn((_: unknown, { name }: { name: string }) => ({ id: 'p3', name, reviews: [] })) },
};

const model = buildCostModel(typeDefs);
/** A server whose cost plugin has a maximum of 100, in the given mode, and the registry of its series. */
async function serverIn(mode: 'enforce' | 'measure', registry = new Registry()) {
  const started = new ApolloServer({ typeDefs, resolvers, plugins: [ApolloServerPluginCacheControlDisabled(), costPlugin({ model: () => model, maxOperationCost: 100, mode, registry })] });
  await started.start();
  return started;
}
let server: ApolloServer;
let measuring: ApolloServer;
const measured = new Registry();
beforeAll(async () => {
  [server, measuring] = await Promise.all([serverIn('enforce'), serverIn('measure', measured)]);
});
afterAll(async () => {
  await Promise.all([server.stop(), measuring.stop()]);
});

async function run(query: string, variables?: Record<string, unknown>, on = server) {
  vi.clearAllMocks();
  const response = await on.executeOperation({ query, ...(variables ? { variables } : {}) });
  const single = response.body.kind === 'single' ? response.body.singleResult : undefined;
  return { status: response.http.status, errors: single?.errors, cost: single?.extensions?.cost, resolverCalls: vi.mocked(resolvers.Query.products).mock.calls.length };
}

describe('costPlugin', () => {
  it('reports the estimate from the list arguments and the actual cost from the lists returned', async () => {
    // Estimated: 3 products × (1 + 5 assumed reviews); actual: 2 products, 1 review between them.
    expect(await run('{ products(first: 3) { id reviews { stars } } }')).toEqual({ status: undefined, errors: undefined, cost: { estimated: 18, actual: 3 }, resolverCalls: 1 });
    expect(await run('{ products { id } }')).toEqual({ status: undefined, errors: undefined, cost: { estimated: 10, actual: 2 }, resolverCalls: 1 });
  });

  it('prices weighted fields and mutations', async () => {
    expect((await run('{ report }')).cost).toEqual({ estimated: 7, actual: 7 });
    expect((await run('mutation { addProduct(name: "Desk") { id } }')).cost).toEqual({ estimated: 11, actual: 11 });
  });

  it('prices slicing arguments given as variables', async () => {
    const query = 'query Top($n: Int) { products(first: $n) { id } }';
    expect((await run(query, { n: 20 })).cost).toEqual({ estimated: 20, actual: 2 });
    expect((await run(query, { n: 101 })).errors?.[0]?.extensions?.code).toEqual('COST_ESTIMATED_TOO_EXPENSIVE');
  });

  it('refuses an operation over the maximum before any resolver runs', async () => {
    expect(await run('{ products(first: 50) { reviews { id } } }')).toEqual({
      status: 400,
      errors: [
        {
          message: 'The operation\'s estimated cost 300 is over the maximum of 100: ask for fewer items (smaller "first") or split it.',
          extensions: { code: 'COST_ESTIMATED_TOO_EXPENSIVE', cost: 300, maxCost: 100 },
        },
      ],
      cost: { estimated: 300, actual: 0 },
      resolverCalls: 0,
    });
  });

  it('admits an operation exactly at the maximum', async () => {
    expect((await run('{ products(first: 100) { id } }')).status).toEqual(undefined);
  });

  it('adds nothing to an operation that did not validate', async () => {
    const outcome = await run('{ products { price } }');
    expect({ status: outcome.status, code: outcome.errors?.[0]?.extensions?.code, cost: outcome.cost }).toEqual({ status: 400, code: 'GRAPHQL_VALIDATION_FAILED', cost: undefined });
  });
});

describe('costPlugin in measure mode', () => {
  it('serves an operation over the maximum, with the figures and the verdict in extensions.cost, and counts it', async () => {
    expect(await run('{ products(first: 50) { reviews { id } } }', undefined, measuring)).toEqual({
      status: undefined,
      errors: undefined,
      cost: { estimated: 300, actual: 3, mode: 'measure', maxCost: 100, exceeded: true },
      resolverCalls: 1,
    });
    expect((await run('{ products(first: 3) { id } }', undefined, measuring)).cost).toEqual({ estimated: 3, actual: 2, mode: 'measure', maxCost: 100, exceeded: false });
    expect((await measured.getSingleMetric('geofed_cost_over_max_total')?.get())?.values).toEqual([{ value: 1, labels: { mode: 'measure' } }]);
    expect((await measured.getSingleMetricAsString('geofed_operation_estimated_cost')).split('\n')).toContain('geofed_operation_estimated_cost_count 2');
  });

  it('is built again with the same registry, as on a reload, and its series count on', async () => {
    const registry = new Registry();
    const first = await serverIn('enforce', registry);
    const second = await serverIn('enforce', registry);
    try {
      for (const on of [first, second]) expect((await run('{ products(first: 101) { id } }', undefined, on)).errors?.[0]?.extensions?.code).toEqual('COST_ESTIMATED_TOO_EXPENSIVE');
      expect((await registry.getSingleMetric('geofed_cost_over_max_total')?.get())?.values).toEqual([{ value: 2, labels: { mode: 'enforce' } }]);
    } finally {
      await Promise.all([first.stop(), second.stop()]);
    }
  });
});
