import { ApolloServer, HeaderMap, type BaseContext } from '@apollo/server';
import { afterEach, describe, expect, it } from 'vitest';
import { offlineApolloGateway } from '../gateway/offline-apollo-gateway.js';
import { apolloOffline } from '../runtime/apollo-offline.js';

// Nothing leaves by accident (docs/landing-page.md): whatever APOLLO_* says, an ApolloServer with these plugins
// (the gateway's and every subgraph's) starts no usage or schema reporting and renders no landing page of Apollo's.

const variables = ['APOLLO_KEY', 'APOLLO_GRAPH_REF', 'APOLLO_SCHEMA_REPORTING', 'NODE_ENV'] as const;
const saved = Object.fromEntries(variables.map((name) => [name, process.env[name]]));

afterEach(() => {
  for (const name of variables) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
});

function recordingLogger() {
  const lines: string[] = [];
  const log = (level: string) => (message: unknown) => {
    lines.push(`${level}: ${String(message)}`);
  };
  return { lines, logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') } };
}

async function browserGet(server: ApolloServer<BaseContext>) {
  const headers = new HeaderMap([['accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8']]);
  return server.executeHTTPGraphQLRequest({ httpGraphQLRequest: { method: 'GET', headers, search: '', body: undefined }, context: async () => ({}) });
}

describe('apolloOffline', () => {
  for (const nodeEnv of ['development', 'production']) {
    it(`keeps reports and Apollo's landing page off with APOLLO_KEY, APOLLO_GRAPH_REF and APOLLO_SCHEMA_REPORTING set (NODE_ENV=${nodeEnv})`, async () => {
      process.env.NODE_ENV = nodeEnv;
      process.env.APOLLO_KEY = 'service:geofed-test:not-a-real-key';
      process.env.APOLLO_GRAPH_REF = 'geofed-test@current';
      process.env.APOLLO_SCHEMA_REPORTING = 'true';
      const { lines, logger } = recordingLogger();
      const server = new ApolloServer({ typeDefs: 'type Query { hello: String }', resolvers: { Query: { hello: () => 'world' } }, plugins: apolloOffline(), logger });
      await server.start();
      try {
        const page = await browserGet(server);
        expect(page.headers.get('content-type') ?? '').not.toMatch(/html/);
        expect(page.body.kind === 'complete' ? page.body.string : '').not.toMatch(/<html|apollographql/i);
        const answer = await server.executeOperation({ query: '{ hello }' });
        expect(answer.body.kind === 'single' ? answer.body.singleResult.data : undefined).toEqual({ hello: 'world' });
      } finally {
        await server.stop();
      }
      expect(lines.filter((line) => /usage report|schema report|studio\.apollographql|apollographql\.com/i.test(line))).toEqual([]);
    });
  }

  it('is what stops schema reporting: without it, APOLLO_SCHEMA_REPORTING=true would install the reporter', async () => {
    // Without a key, Apollo refuses to start a reporter it was asked for: proof the variable is read, and sends nothing.
    delete process.env.APOLLO_KEY;
    process.env.APOLLO_SCHEMA_REPORTING = 'true';
    const bare = new ApolloServer({ typeDefs: 'type Query { hello: String }' });
    await expect(bare.start()).rejects.toThrow(/schema reporting/);
    const offline = new ApolloServer({ typeDefs: 'type Query { hello: String }', plugins: apolloOffline() });
    await offline.start();
    await offline.stop();
  });
});

describe('offlineApolloGateway', () => {
  it('starts no telemetry of Apollo Gateway\'s own, even with APOLLO_TELEMETRY_DISABLED unset', () => {
    const before = process.env.APOLLO_TELEMETRY_DISABLED;
    delete process.env.APOLLO_TELEMETRY_DISABLED;
    try {
      const gateway = offlineApolloGateway({ supergraphSdl: 'type Query { hello: String }' });
      // What Apollo Gateway's constructor reads to decide: it creates its metrics exporter (and probes cloud metadata) otherwise.
      expect(process.env.APOLLO_TELEMETRY_DISABLED).toBe('true');
      // Its disposers would hold the exporter's shutdown: none was created.
      expect((gateway as unknown as { toDispose: unknown[] }).toDispose).toEqual([]);
    } finally {
      if (before === undefined) delete process.env.APOLLO_TELEMETRY_DISABLED;
      else process.env.APOLLO_TELEMETRY_DISABLED = before;
    }
  });
});
