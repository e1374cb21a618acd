import { ApolloServer, type GraphQLResponse } from '@apollo/server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { inputSafetyPlugin } from '../plugins/input-safety.js';

// The requests graphql-js or a database would turn into a 500, as a client sends them: each is refused with
// a 4xx, the code Apollo Server defines and a message that says what to change, before any resolver runs.
const typeDefs = /* GraphQL */ `
  type Query { echo(text: String): String }
`;
const echo = vi.fn((_: unknown, { text }: { text?: string }) => text ?? 'nothing');

let server: ApolloServer;
beforeAll(async () => {
  server = new ApolloServer({ typeDefs, resolvers: { Query: { echo } }, plugins: [inputSafetyPlugin()] });
  await server.start();
});
afterAll(async () => {
  await server.stop();
});

async function run(request: { query: string; operationName?: string; variables?: Record<string, unknown> }) {
  echo.mockClear();
  const response: GraphQLResponse = await server.executeOperation(request);
  return { status: response.http.status, result: response.body.kind === 'single' ? response.body.singleResult : response.body, resolved: echo.mock.calls.length };
}

const refused = (status: number, code: string, message: string) => ({ status, result: { errors: [{ message, extensions: { code } }] }, resolved: 0 });

describe('inputSafetyPlugin', () => {
  it('serves a query with a plain string', async () => {
    expect(await run({ query: 'query Echo($text: String) { echo(text: $text) }', variables: { text: 'hello' } })).toEqual({ status: undefined, result: { data: { echo: 'hello' } }, resolved: 1 });
  });

  it('refuses an operation name that names no operation of the document, repeating at most 64 characters of it', async () => {
    expect(await run({ query: 'query A { echo }', operationName: 'B' })).toEqual(refused(400, 'OPERATION_RESOLUTION_FAILURE', 'The document has no operation named "B".'));
    expect(await run({ query: 'query A { echo }', operationName: '' })).toEqual(refused(400, 'OPERATION_RESOLUTION_FAILURE', 'The document has no operation named "".'));
    expect(await run({ query: 'query A { echo }', operationName: 'x'.repeat(100) })).toEqual(refused(400, 'OPERATION_RESOLUTION_FAILURE', `The document has no operation named "${'x'.repeat(64)}…".`));
  });

  it('refuses a document of several operations without an operation name', async () => {
    expect(await run({ query: 'query A { echo } query B { echo }' })).toEqual(refused(400, 'OPERATION_RESOLUTION_FAILURE', 'The document has 2 operations: name the one to run in "operationName".'));
  });

  it('refuses a subscription: the schema has none', async () => {
    expect(await run({ query: 'subscription { echo }' })).toEqual(refused(400, 'GRAPHQL_VALIDATION_FAILED', 'This gateway serves queries and mutations; it has no subscriptions.'));
  });

  it('refuses a NUL character in a string of the document or of the variables, naming where it is', async () => {
    expect(await run({ query: '{ echo(text: "a\\u0000b") }' })).toEqual(refused(400, 'BAD_USER_INPUT', 'Strings may not contain NUL (\\u0000) characters: a string in the document does.'));
    expect(await run({ query: 'query Echo($text: String) { echo(text: $text) }', variables: { text: 'a\u0000b' } })).toEqual(
      refused(400, 'BAD_USER_INPUT', 'Strings may not contain NUL (\\u0000) characters: variables.text does.'),
    );
  });
});
