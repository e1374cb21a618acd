import { readFileSync } from 'node:fs';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { gatewayEnv } from '../../gateway/env.js';
import { signingFetcher } from '../../gateway/signing-fetcher.js';
import { callerHeaders } from '../../protocol/signed-context.js';
import { benchTenantHeader, meTenants } from '../me-query/tenants.js';
import { serveApolloPeer } from './serve-apollo.js';

// tsx (which loads this file) turns source maps on for the whole process; a peer runs as plain
// JavaScript would, without them (with them every Error's stack is mapped: agent-base, under
// Apollo's default fetcher, reads one per request).
process.setSourceMapsEnabled(false);

// The baseline of the `me` workload, in a process of its own: a bare @apollo/gateway over geofed's
// subgraphs that does only what they require, with none of geofed's own work. It verifies no
// token and looks no tenant up: the client names its seeded tenant in x-bench-tenant, and each
// fetch goes to that tenant's region (regional subgraphs) or to `us` (global ones), with the
// caller's context headers signed as geofed's subgraphs demand (Apollo's own fetcher underneath).
// `bare-regional-main.ts SPEC.json` ({ supergraphPath, subgraphs: [{ name, scope, urls }] }) prints
// `ready URL` and serves until signalled.
interface Spec {
  readonly supergraphPath: string;
  readonly subgraphs: readonly { readonly name: string; readonly scope: string; readonly urls: Readonly<Record<string, string>> }[];
}
interface Context { readonly tenant: (typeof meTenants)[number] | undefined }

const specPath = process.argv[2];
if (!specPath) {
  console.error('usage: bare-regional-main.ts SPEC.json');
  process.exit(2);
}
const spec = JSON.parse(readFileSync(specPath, 'utf8')) as Spec;
const gatewayRegion = 'us';
const secret = gatewayEnv().subgraphSecrets.current;

const gateway = new ApolloGateway({
  supergraphSdl: readFileSync(spec.supergraphPath, 'utf8'),
  buildService: ({ name }) => {
    const subgraph = spec.subgraphs.find((s) => s.name === name)!;
    const source = new RemoteGraphQLDataSource<Context>({
      url: subgraph.urls[gatewayRegion]!,
      willSendRequest({ request, context }) {
        const region = subgraph.scope === 'regional' ? context.tenant?.region : gatewayRegion;
        if (!request.http || !region) return;
        // Apollo types the URL read-only, yet fetches whatever willSendRequest leaves in it.
        (request.http as { url: string }).url = subgraph.urls[region]!;
        const caller = context.tenant ? { tenantId: context.tenant.tenantId, userId: context.tenant.userId } : {};
        for (const [header, value] of Object.entries(callerHeaders({ ...caller, roles: [], region: context.tenant?.region ?? gatewayRegion }))) request.http.headers.set(header, value);
      },
    });
    source.fetcher = signingFetcher(source.fetcher, secret);
    return source;
  },
});
const server = new ApolloServer<Context>({ gateway, stopOnTerminationSignals: false });
await server.start();
await serveApolloPeer(server, async (req) => ({ tenant: meTenants.find((t) => t.tenantId === req.headers[benchTenantHeader]) }));
