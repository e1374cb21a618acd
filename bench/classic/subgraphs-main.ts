import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { serveGraphQL } from './graphql-server.js';
import { classicSubgraphs } from './subgraphs.js';

// The classic workload's four subgraphs in one process of their own (the gateways are measured
// in theirs): `node --import tsx bench/classic/subgraphs-main.ts DIR` serves them on free ports,
// composes the supergraph with their URLs into DIR/supergraph.graphql, prints one `ready` line,
// and serves until it is signalled.
const dir = process.argv[2];
if (!dir) {
  console.error('usage: subgraphs-main.ts DIR');
  process.exit(2);
}

const served = await Promise.all(classicSubgraphs.map(async (subgraph) => ({ ...subgraph, ...(await serveGraphQL(subgraph.schema())) })));
const composed = composeServices(served.map(({ name, typeDefs, url }) => ({ name, typeDefs: parse(typeDefs), url })));
if (composed.errors) {
  console.error(composed.errors.map((error) => error.message).join('\n'));
  process.exit(1);
}
const supergraphPath = join(dir, 'supergraph.graphql');
writeFileSync(supergraphPath, composed.supergraphSdl);
console.log(`ready ${JSON.stringify({ supergraphPath, urls: Object.fromEntries(served.map(({ name, url }) => [name, url])) })}`);

const stop = () => {
  for (const { server } of served) server.closeAllConnections();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
