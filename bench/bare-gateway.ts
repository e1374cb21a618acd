import { readFileSync } from 'node:fs';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import type { GeofedConfig } from '../gateway/config.js';
import { apolloRoute } from '../runtime/apollo-http.js';
import { startHttpServer, type RunningHttpServer } from '../runtime/http-server.js';
import { signingFetcher } from '../gateway/signing-fetcher.js';
import { gatewayEnv } from '../gateway/env.js';
import { callerHeaders } from '../protocol/signed-context.js';

/**
 * The baseline: a plain @apollo/gateway over the same subgraph servers, pinned
 * to one region and one caller (what geofed decides per request is fixed here).
 */
export async function startBareGateway(config: GeofedConfig, region: string, caller: { tenantId: string; userId: string }): Promise<RunningHttpServer & { close(): Promise<void> }> {
  const urls = new Map(config.subgraphs.map((s) => [s.name, s.urls[s.scope === 'regional' ? region : config.gateway.region]!]));
  const gateway = new ApolloGateway({
    supergraphSdl: readFileSync(config.supergraphPath!, 'utf8'),
    buildService: ({ name }) => {
      const source = new RemoteGraphQLDataSource({
        url: urls.get(name)!,
        willSendRequest({ request }) {
          for (const [name, value] of Object.entries(callerHeaders({ ...caller, roles: [], region }))) request.http?.headers.set(name, value);
        },
      });
      // Apollo's own HTTP client, signed so that geofed's subgraphs accept it.
      source.fetcher = signingFetcher(source.fetcher, gatewayEnv().subgraphSecrets.current);
      return source;
    },
  });
  const server = new ApolloServer({ gateway, plugins: [ApolloServerPluginInlineTraceDisabled()], stopOnTerminationSignals: false });
  await server.start();
  const http = await startHttpServer({ routes: { '/graphql': apolloRoute(server, { maxBodyBytes: 1_048_576, context: async () => ({}) }) } });
  return { ...http, close: async () => { await http.stop(); await server.stop(); } };
}
