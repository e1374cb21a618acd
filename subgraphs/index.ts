// The one entry of subgraphs/ for the dev runner (dev/): what it needs to start every subgraph of
// every region in one process. Nothing else outside subgraphs/ imports subgraph code.
export { subgraphKinds, type SubgraphKind, type SubgraphDependencies } from './registry.js';
export { subgraphNames, subgraphSettings, defaultPort, catalogDatabaseVariable, catalogReplicaVariable, regionDatabaseVariable, type SubgraphName, type SubgraphSettings } from './settings.js';
export { openDatabase, DatabaseUnavailableError, type DatabaseHandle, type DatabasePool, type DatabaseTarget } from './shared/db.js';
export { startSubgraph, type AnySubgraphDefinition, type ReceivedRequest, type RunningSubgraph, type SubgraphListenOptions, type SubgraphTestHooks } from './shared/subgraph-server.js';
export { rowsOf } from './shared/rows.js';
export { firstUserOf, seedOrders, seedProducts, seedTenants, seedUsers, tenantsOfRegion } from './shared/seed-data.js';
export type { UsersTestHooks } from './users/loaders.js';
