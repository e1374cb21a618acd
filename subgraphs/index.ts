// The one entry of subgraphs/ for the dev runner (dev/): what it needs to start every subgraph of
// every region in one process. Nothing else outside subgraphs/ imports subgraph code.
export type { SubgraphKind, SubgraphDependencies } from './registry.js';
export { subgraphNames, subgraphSettings, defaultPort, catalogDatabaseVariable, catalogReplicaVariable, regionDatabaseVariable, type SubgraphName, type SubgraphSettings } from './settings.js';
export { openDatabase, DatabaseUnavailableError, type DatabaseHandle, type DatabasePool, type DatabaseTarget } from './shared/db.js';
export type { AnySubgraphDefinition, ReceivedRequest, RunningSubgraph, SubgraphListenOptions, SubgraphTestHooks } from './shared/subgraph-server.js';
export { rowsOf } from './shared/rows.js';
export { firstUserOf, seedOrders, seedProducts, seedTenants, seedUsers, tenantsOfRegion } from './shared/seed-data.js';
export type { UsersTestHooks } from './users/loaders.js';

/**
 * The subgraphs' own code: each kind's migrations, seeds and server
 * (Apollo Server, @apollo/subgraph, the resolvers), and the start of an
 * instance. Loaded on first call, not with this entry: `npm start` opens its
 * databases while it loads, and `geofed token` never loads it.
 */
export async function loadSubgraphs() {
  const [{ subgraphKinds }, { startSubgraph }] = await Promise.all([import('./registry.js'), import('./shared/subgraph-server.js')]);
  return { subgraphKinds, startSubgraph };
}

/** The event system's subgraph side (subgraphs/events.ts: relays, webhooks), loaded on first call like the servers. */
export const loadEvents = () => import('./events.js');
