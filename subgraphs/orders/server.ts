import { fileURLToPath } from 'node:url';
import type { SignedCaller } from '../../protocol/signed-context.js';
import type { Database, DatabaseHandle } from '../shared/db.js';
import { tenantScope, type SubgraphDefinition } from '../shared/subgraph-server.js';
import { migrateApplicationRole } from '../shared/tenant-policy.js';
import type { PriceLookup } from './catalog-prices.js';
import { ordersLoaders } from './loaders.js';
import { ordersResolvers, type OrdersContext } from './resolvers.js';
import { seedOrdersOfRegion } from './seed.js';

export const ordersMigrations = fileURLToPath(new URL('./db/migrations', import.meta.url));

export interface OrdersOptions {
  readonly region: string;
  readonly schemaPath: string;
  readonly database: DatabaseHandle;
  /** Prices come from the catalog when an order is placed. */
  readonly prices: PriceLookup;
}

export function buildOrders({ region, schemaPath, database, prices }: OrdersOptions): SubgraphDefinition<OrdersContext> {
  return {
    name: 'orders',
    region,
    schemaPath,
    resolvers: ordersResolvers,
    scope: 'regional',
    requestScope: tenantScope(database),
    context: (caller: SignedCaller, db: Database) => ({ caller, db, region, prices, loaders: ordersLoaders(db, caller.tenantId) }),
  };
}

export async function prepareOrdersDatabase(handle: DatabaseHandle, region: string): Promise<void> {
  await migrateApplicationRole(handle);
  await handle.migrate(ordersMigrations, 'orders');
  await seedOrdersOfRegion(handle.db, region);
}
