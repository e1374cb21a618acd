import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devToken, postGraphQL, startTestStack, type TestStack } from './fixtures/stack.js';

// Depth, aliases, directives and tokens are refused before planning: no subgraph is called.
let t: TestStack;
beforeAll(async () => {
  t = await startTestStack('postgres');
  // The first use of a tenant looks it up in the directory; the counts below are about the operation alone.
  await postGraphQL(t.graphqlUrl, '{ products(first: 1) { id } }', { token: await devToken('acme', 'usr_acme_1') });
});
afterAll(async () => {
  await t?.stop();
});

const subgraphRequests = () => t.stack.subgraphs.reduce((sum, s) => sum + s.requestCount(), 0);

describe('operation limits', () => {
  it.each([
    ['depth 7', '{ me { orders { user { orders { items { product { id } } } } } } }', 'GRAPHQL_VALIDATION_FAILED', /depth limit of 6/],
    ['16 aliases', `{ ${Array.from({ length: 16 }, (_, i) => `a${i}: products(first: 1) { id }`).join(' ')} }`, 'GRAPHQL_VALIDATION_FAILED', /Aliases limit of 15/],
    ['51 directives', `{ products(first: 1) { id ${'@include(if: true) '.repeat(51)} } }`, 'GRAPHQL_VALIDATION_FAILED', /Directives limit of 50/],
    ['1001 tokens', `{ products(first: 1) { ${'id '.repeat(1000)} } }`, 'GRAPHQL_PARSE_FAILED', /^Token limit of 1000 exceeded, parsing stopped: simplify the operation, or raise limits\.max_tokens in the gateway's supergraph\.yaml\.$/],
  ])('refuses %s with %s', async (_label, query, code, message) => {
    const before = subgraphRequests();
    const result = await postGraphQL(t.graphqlUrl, query, { token: await devToken('acme', 'usr_acme_1') });
    expect(result.status).toBe(400);
    expect(result.body.errors?.[0]?.extensions?.code).toBe(code);
    expect(result.body.errors?.[0]?.message).toMatch(message);
    expect(subgraphRequests()).toBe(before);
  });

  it('allows the deepest query the schema needs', async () => {
    const result = await postGraphQL(t.graphqlUrl, '{ me { orders(first: 1) { items { product { name } } } } }', { token: await devToken('acme', 'usr_acme_1') });
    expect(result.status).toBe(200);
  });

  it('answers batches, malformed and oversized bodies with a 4xx', async () => {
    const post = (body: string, contentType = 'application/json') => fetch(t.graphqlUrl, { method: 'POST', headers: { 'content-type': contentType }, body });
    const batch = await post(JSON.stringify([{ query: '{ products { id } }' }, { query: '{ products { id } }' }]));
    expect(batch.status).toBe(400);
    expect(((await batch.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('BAD_REQUEST');
    for (const body of ['{', '"just a string"', 'null', '{"query": 42}', '{"query": "{ products { id } }", "variables": "nope"}']) {
      const response = await post(body);
      expect(response.status, body).toBeGreaterThanOrEqual(400);
      expect(response.status, body).toBeLessThan(500);
    }
    const oversized = await post(JSON.stringify({ query: `{ products { id } } # ${'x'.repeat(1_100_000)}` }));
    expect(oversized.status).toBe(413);
    const text = await post('{ products { id } }', 'text/plain');
    expect(text.status).toBe(400);
  });
});
