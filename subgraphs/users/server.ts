import { fileURLToPath } from 'node:url';
import type { SignedCaller } from '../../protocol/signed-context.js';
import type { Database, DatabaseHandle } from '../shared/db.js';
import { tenantScope, type SubgraphDefinition } from '../shared/subgraph-server.js';
import { migrateApplicationRole } from '../shared/tenant-policy.js';
import { usersLoaders, type UsersTestHooks } from './loaders.js';
import { usersResolvers, type UsersContext } from './resolvers.js';
import { seedUsersOfRegion } from './seed.js';
import { webhookSettings, type WebhookSettings } from './webhooks/settings.js';

export const usersMigrations = fileURLToPath(new URL('./db/migrations', import.meta.url));

export interface UsersOptions {
  readonly region: string;
  readonly schemaPath: string;
  readonly database: DatabaseHandle;
  readonly testHooks?: UsersTestHooks;
  /** Which webhook URLs registerWebhook accepts, and the attempts a delivery gets. @default from the environment */
  readonly webhooks?: WebhookSettings;
}

export function buildUsers({ region, schemaPath, database, testHooks = {}, webhooks = webhookSettings() }: UsersOptions): SubgraphDefinition<UsersContext> {
  return {
    name: 'users',
    region,
    schemaPath,
    resolvers: usersResolvers,
    scope: 'regional',
    requestScope: tenantScope(database),
    context: (caller: SignedCaller, db: Database) => ({ caller, db, region, webhooks, loaders: usersLoaders(db, caller.tenantId, testHooks) }),
  };
}

export async function prepareUsersDatabase(handle: DatabaseHandle, region: string): Promise<void> {
  await migrateApplicationRole(handle);
  await handle.migrate(usersMigrations, 'users');
  await seedUsersOfRegion(handle.db, region);
}
