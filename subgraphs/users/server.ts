import { fileURLToPath } from 'node:url';
import type { SubgraphCaller } from '../shared/caller.js';
import type { Database, DatabaseHandle } from '../shared/db.js';
import type { SubgraphDefinition } from '../shared/subgraph-server.js';
import { usersLoaders } from './loaders.js';
import { usersResolvers, type UsersContext } from './resolvers.js';
import { seedUsersOfRegion } from './seed.js';

export const usersMigrations = fileURLToPath(new URL('./db/migrations', import.meta.url));

export interface UsersOptions {
  readonly region: string;
  readonly schemaPath: string;
  readonly db: Database;
}

export function buildUsers({ region, schemaPath, db }: UsersOptions): SubgraphDefinition<UsersContext> {
  return {
    name: 'users',
    region,
    schemaPath,
    resolvers: usersResolvers,
    context: (caller: SubgraphCaller) => ({ caller, db, loaders: usersLoaders(db, caller.tenantId) }),
  };
}

export async function prepareUsersDatabase(handle: DatabaseHandle, region: string): Promise<void> {
  await handle.migrate(usersMigrations, 'users');
  await seedUsersOfRegion(handle.db, region);
}
