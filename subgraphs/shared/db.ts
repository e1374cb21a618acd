import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { StartupError } from '../../runtime/process.js';

/** The Drizzle database every subgraph codes against, whichever driver is under it. */
export type Database = PgDatabase<PgQueryResultHKT>;

/** Where a database lives: embedded PGlite (in memory, or in a folder), or a PostgreSQL server. */
export type DatabaseTarget =
  | { readonly driver: 'pglite'; readonly dataDir?: string }
  | { readonly driver: 'postgres'; readonly url: string };

/**
 * The role tenant-scoped transactions run as: not a superuser, no BYPASSRLS,
 * owner of nothing, so PostgreSQL's row-level security applies to it.
 * Created by the users/orders migrations.
 */
export const appRole = 'geofed_app';

/** The transaction-local setting the row-level security policies compare `tenant_id` with. */
export const tenantSetting = 'geofed.tenant_id';

export interface DatabaseHandle {
  readonly db: Database;
  readonly driver: DatabaseTarget['driver'];
  /**
   * Runs `work` in one transaction that sets the tenant for row-level security
   * (`set_config(..., true)`: it ends with the transaction, so nothing leaks
   * through a pooled connection) and switches to the application role.
   */
  withTenant<T>(tenantId: string, work: (db: Database) => Promise<T>): Promise<T>;
  /** Applies the SQL migrations of one subgraph (several subgraphs may share a database). */
  migrate(folder: string, subgraph: string): Promise<void>;
  /** Replaces the connection pool with a new one: a pool the driver left broken after a server went away starts clean. */
  reconnect(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Sees every SQL statement Drizzle sends (tests count queries with it). */
  readonly onQuery?: (sql: string) => void;
  /** PostgreSQL pool (each subgraph instance's `GEOFED_DATABASE_POOL_SIZE`, `GEOFED_DATABASE_CONNECT_TIMEOUT_MS`). */
  readonly pool?: DatabasePool;
}

export interface DatabasePool {
  /** Connections this handle may hold: every process of a deployment shares PostgreSQL's max_connections. */
  readonly size: number;
  /** A connection not made by then fails the query (PRIMARY_UNAVAILABLE for a write) instead of waiting out the gateway's deadline. */
  readonly connectTimeoutMs: number;
}

/** Four connections a handle: twelve subgraph processes (a catalog instance holds two handles) stay under 100 with room to spare. */
export const defaultPool: DatabasePool = { size: 4, connectTimeoutMs: 1_000 };
/** The advisory lock every geofed instance takes to migrate a database (any constant no other application uses). */
const migrationLockKey = 7_301_446_337;
/** Idle connections are closed after this, so a quiet instance gives its connections back. */
const idleTimeoutSeconds = 30;

/** A database that cannot be reached at start-up: a user's fix (a URL, a server to start), never a stack trace. */
export class DatabaseUnavailableError extends StartupError {
  override readonly name = 'DatabaseUnavailableError';
}

export async function openDatabase(target: DatabaseTarget, options: OpenOptions = {}): Promise<DatabaseHandle> {
  const logger = options.onQuery ? { logQuery: (sql: string) => options.onQuery!(sql) } : false;
  // Each driver is loaded only for a database that uses it: a process on PGlite never loads postgres.js, nor one
  // on PostgreSQL PGlite's WASM.
  if (target.driver === 'pglite') {
    const [{ openPglite }, { drizzle: drizzlePglite }, { migrate: migratePglite }] = await Promise.all([import('./pglite.js'), import('drizzle-orm/pglite'), import('drizzle-orm/pglite/migrator')]);
    const client = await openPglite(target.dataDir);
    const db = drizzlePglite({ client, logger }) as unknown as Database;
    return {
      db,
      driver: 'pglite',
      withTenant: tenantTransaction(db),
      migrate: (folder, subgraph) => migratePglite(db as never, journal(folder, subgraph)),
      // One connection in this process: there is nothing to reopen.
      reconnect: async () => {},
      close: () => client.close(),
    };
  }
  const [{ default: postgres }, { drizzle: drizzlePostgres }, { migrate: migratePostgres }] = await Promise.all([import('postgres'), import('drizzle-orm/postgres-js'), import('drizzle-orm/postgres-js/migrator')]);
  const pool = options.pool ?? defaultPool;
  const connect = () => postgres(target.url, { max: pool.size, connect_timeout: pool.connectTimeoutMs / 1_000, idle_timeout: idleTimeoutSeconds, onnotice: () => {} });
  let client = connect();
  try {
    await client`select 1`;
  } catch (error) {
    await client.end({ timeout: 0 });
    throw new DatabaseUnavailableError(`cannot connect to PostgreSQL at ${redactUrl(target.url)}: ${(error as Error).message}`);
  }
  let db = drizzlePostgres({ client, logger }) as unknown as Database;
  // N instances started at once on one database migrate one after another: the first applies, the others find nothing to do.
  const migrate = async (config: MigrateConfig) => {
    const session = await client.reserve();
    try {
      await session`select pg_advisory_lock(${migrationLockKey})`;
      await migratePostgres(db as never, config);
    } finally {
      await session`select pg_advisory_unlock(${migrationLockKey})`.catch(() => undefined);
      session.release();
    }
  };
  return {
    get db() {
      return db;
    },
    driver: 'postgres',
    withTenant: (tenantId, work) => tenantTransaction(db)(tenantId, work),
    migrate: (folder, subgraph) => migrate(journal(folder, subgraph)),
    async reconnect() {
      const old = client;
      client = connect();
      db = drizzlePostgres({ client, logger }) as unknown as Database;
      await old.end({ timeout: 0 }).catch(() => undefined);
    },
    close: () => client.end({ timeout: 5 }),
  };
}

type MigrateConfig = { migrationsFolder: string; migrationsTable: string };

/** users and orders share a regional database: each keeps its own migration journal. */
function journal(folder: string, subgraph: string): MigrateConfig {
  return { migrationsFolder: folder, migrationsTable: `__drizzle_migrations_${subgraph}` };
}

function tenantTransaction(db: Database) {
  return <T>(tenantId: string, work: (db: Database) => Promise<T>): Promise<T> =>
    db.transaction(async (tx) => {
      // One round trip: `role` is a setting too, and set_config(..., true) is SET LOCAL.
      await tx.execute(sql`select set_config(${tenantSetting}, ${tenantId}, true), set_config('role', ${appRole}, true)`);
      return work(tx as unknown as Database);
    });
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}
