import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';

// tsx (which loads this file) turns source maps on for the whole process; a peer runs as plain
// JavaScript would, without them (with them every Error's stack is mapped: agent-base, under
// Apollo's default fetcher, reads one per request).
process.setSourceMapsEnabled(false);

// The Hive Gateway peer, in a process of its own, configured as its docs do for Node
// (createGatewayRuntime served by node:http), logging off, the same keep-alive as the other
// servers. `hive-main.ts SUPERGRAPH [--dedup]` prints `ready URL` and serves until signalled.
// --dedup turns on inboundInflightRequestDeduplication: identical requests in flight at once
// (method, URL, headers, document, variables) share one execution. Its subgraph transport keeps
// its own default (deduplicateInflightRequests on).
const [supergraphPath, ...flags] = process.argv.slice(2);
if (!supergraphPath) {
  console.error('usage: hive-main.ts SUPERGRAPH [--dedup]');
  process.exit(2);
}

// Loaded by a specifier typed as a string, so that tsc never reads its typings: graphql-yoga's
// augment graphql's GraphQLErrorExtensions (http.headers a record) against Apollo Server's (a
// HeaderMap), which breaks the type check of geofed's own errors.
const runtime: string = '@graphql-hive/gateway-runtime';
const { createGatewayRuntime } = (await import(runtime)) as {
  createGatewayRuntime(config: { supergraph: string; logging: boolean; inboundInflightRequestDeduplication?: boolean }): RequestListener & AsyncDisposable;
};
const gateway = createGatewayRuntime({
  supergraph: supergraphPath,
  logging: false,
  ...(flags.includes('--dedup') ? { inboundInflightRequestDeduplication: true } : {}),
});
const server = createServer(gateway);
server.keepAliveTimeout = 65_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
console.log(`ready http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`);

const stop = async () => {
  server.closeAllConnections();
  server.close();
  await gateway[Symbol.asyncDispose]();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
