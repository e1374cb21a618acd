import { readFileSync } from 'node:fs';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import type { GeofedConfig } from '../gateway/config.js';
import { apolloRoute, startHttpServer, type RunningHttpServer } from '../gateway/http-server.js';
import { signingFetcher } from '../gateway/signing-fetcher.js';
import { contextHeaders, subgraphSecrets } from '../gateway/signed-context.js';

/**
 * The baseline: a plain @apollo/gateway over the same subgraph servers, pinned
 * to one region and one caller (what geofed decides per request is fixed here).
 */
export async function startBareGateway(config: GeofedConfig, region: string, caller: { tenantId: string; userId: string }): Promise<RunningHttpServer & { close(): Promise<void> }> {
  const urls = new Map(config.subgraphs.map((s) => [s.name, s.urls[s.scope === 'regional' ? region : config.gateway.region]!]));
  const gateway = new ApolloGateway({
    supergraphSdl: readFileSync(config.supergraphPath, 'utf8'),
    buildService: ({ name }) => {
      const source = new RemoteGraphQLDataSource({
        url: urls.get(name)!,
        willSendRequest({ request }) {
          request.http?.headers.set(contextHeaders.tenant, caller.tenantId);
          request.http?.headers.set(contextHeaders.user, caller.userId);
          request.http?.headers.set(contextHeaders.region, region);
        },
      });
      // Apollo's own HTTP client, signed so that geofed's subgraphs accept it.
      source.fetcher = signingFetcher(source.fetcher, subgraphSecrets().current);
      return source;
    },
  });
  const server = new ApolloServer({ gateway, plugins: [ApolloServerPluginInlineTraceDisabled()], stopOnTerminationSignals: false });
  await server.start();
  const http = await startHttpServer({ routes: { '/graphql': apolloRoute(server, { maxBodyBytes: 1_048_576, context: async () => ({}) }) } });
  return { ...http, close: async () => { await http.stop(); await server.stop(); } };
}
