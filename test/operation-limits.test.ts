import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { operationLimits, operationLimitSettings, tokenLimitPlugin } from '../plugins/operation-limits.js';

const typeDefs = 'type Category { name: String! parent: Category } type Query { category: Category }';
const category = vi.fn(() => ({ name: 'root', parent: { name: 'up', parent: { name: 'top', parent: null } } }));

let server: ApolloServer;
beforeAll(async () => {
  const settings = operationLimitSettings.parse({ max_depth: 3, max_aliases: 2, max_tokens: 40, max_directives: 2 });
  server = new ApolloServer({ typeDefs, resolvers: { Query: { category } }, plugins: [ApolloServerPluginCacheControlDisabled(), tokenLimitPlugin(settings)], ...operationLimits(settings) });
  await server.start();
});
afterAll(async () => {
  await server.stop();
});

async function run(query: string) {
  category.mockClear();
  const response = await server.executeOperation({ query });
  const single = response.body.kind === 'single' ? response.body.singleResult : undefined;
  return {
    status: response.http.status,
    errors: single?.errors?.map((error) => ({ message: error.message, code: error.extensions?.code })),
    resolved: category.mock.calls.length,
  };
}

const served = { status: undefined, errors: undefined, resolved: 1 };
const invalid = (...messages: string[]) => ({ status: 400, errors: messages.map((message) => ({ message, code: 'GRAPHQL_VALIDATION_FAILED' })), resolved: 0 });

describe('operation limits', () => {
  it('serves an operation at every limit', async () => {
    expect(await run('{ a: category { parent { name } } b: category @include(if: true) @skip(if: false) { name } }')).toEqual({ ...served, resolved: 2 });
  });

  it('refuses an operation deeper than max_depth, through fragments too', async () => {
    expect(await run('{ category { parent { parent { name } } } }')).toEqual(invalid('Query depth limit of 3 exceeded, found 4: simplify the operation, or raise limits.max_depth in the gateway\'s supergraph.yaml.'));
    expect(await run('{ category { ...Up } } fragment Up on Category { parent { parent { name } } }')).toEqual(invalid('Query depth limit of 3 exceeded, found 4: simplify the operation, or raise limits.max_depth in the gateway\'s supergraph.yaml.'));
  });

  it('refuses more aliases than max_aliases', async () => {
    expect(await run('{ a: category { name } b: category { name } c: category { name } }')).toEqual(invalid('Aliases limit of 2 exceeded, found 3: simplify the operation, or raise limits.max_aliases in the gateway\'s supergraph.yaml.'));
  });

  it('refuses more directives than max_directives', async () => {
    expect(await run('{ category @include(if: true) @skip(if: false) { name @include(if: true) } }')).toEqual(invalid('Directives limit of 2 exceeded, found 3: simplify the operation, or raise limits.max_directives in the gateway\'s supergraph.yaml.'));
  });

  it('stops parsing past max_tokens, with a message that names the setting and is no syntax error', async () => {
    const long = `{ ${Array.from({ length: 20 }, () => 'category { name }').join(' ')} }`;
    expect(await run(long)).toEqual({
      status: 400,
      errors: [{ message: 'Token limit of 40 exceeded, parsing stopped: simplify the operation, or raise limits.max_tokens in the gateway\'s supergraph.yaml.', code: 'GRAPHQL_PARSE_FAILED' }],
      resolved: 0,
    });
  });

  it('leaves a real syntax error in graphql-js\'s words', async () => {
    expect(await run('{ category { name }')).toEqual({ status: 400, errors: [{ message: 'Syntax Error: Expected Name, found <EOF>.', code: 'GRAPHQL_PARSE_FAILED' }], resolved: 0 });
  });

  it('applies graphql-armor\'s defaults when the file sets none', () => {
    expect(operationLimitSettings.parse(undefined)).toEqual({ maxDepth: 6, maxAliases: 15, maxTokens: 1_000, maxDirectives: 50 });
  });
});
