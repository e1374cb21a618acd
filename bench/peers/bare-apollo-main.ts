import { readFileSync } from 'node:fs';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { serveApolloPeer } from './serve-apollo.js';

// tsx (which loads this file) turns source maps on for the whole process; a peer runs as plain
// JavaScript would, without them (with them every Error's stack is mapped: agent-base, under
// Apollo's default fetcher, reads one per request).
process.setSourceMapsEnabled(false);

// The baseline peer, in a process of its own: a bare @apollo/gateway (its default fetcher, no
// plugins) behind @apollo/server, over a composed supergraph, on the same HTTP server and
// keep-alive as geofed (runtime/http-server.ts). `bare-apollo-main.ts SUPERGRAPH` prints
// `ready URL` and serves until it is signalled.
const supergraphPath = process.argv[2];
if (!supergraphPath) {
  console.error('usage: bare-apollo-main.ts SUPERGRAPH');
  process.exit(2);
}

// No buildService: every subgraph gets Apollo's own RemoteGraphQLDataSource and fetcher.
const gateway = new ApolloGateway({ supergraphSdl: readFileSync(supergraphPath, 'utf8') });
const server = new ApolloServer({ gateway, stopOnTerminationSignals: false });
await server.start();
await serveApolloPeer(server, async () => ({}));
