import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { pgPolicy, pgRole, type PgColumn } from 'drizzle-orm/pg-core';
import { appRole, tenantSetting, type DatabaseHandle } from './db.js';

/** The application role, created by a custom migration (roles are cluster-wide, so it may already exist). */
export const geofedApp = pgRole(appRole).existing();

/**
 * Row-level security for a tenant-owned table: the application role sees and
 * writes only rows of the tenant set for the current transaction. With no
 * tenant set, `current_setting(..., true)` is null and no row matches.
 */
export function tenantIsolation(table: string, tenantId: PgColumn) {
  return pgPolicy(`${table}_tenant_isolation`, {
    as: 'permissive',
    for: 'all',
    to: geofedApp,
    using: sql`${tenantId} = current_setting(${sql.raw(`'${tenantSetting}'`)}, true)`,
    withCheck: sql`${tenantId} = current_setting(${sql.raw(`'${tenantSetting}'`)}, true)`,
  });
}

const applicationRoleMigrations = fileURLToPath(new URL('./db/migrations', import.meta.url));

/** Creates the application role; every regional subgraph applies it before its own migrations grant to it. */
export function migrateApplicationRole(handle: DatabaseHandle): Promise<void> {
  return handle.migrate(applicationRoleMigrations, 'shared');
}
