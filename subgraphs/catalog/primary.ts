import { AsyncLocalStorage } from 'node:async_hooks';
import { sql } from 'drizzle-orm';
import { ErrorCode, resolverError } from '../../protocol/errors.js';
import type { Database } from '../shared/db.js';
import { isConnectionFailure } from '../shared/db-errors.js';
import { rowsOf } from '../shared/rows.js';

/** Told, within a request's read scope, that the request wrote: such a request is never run twice. */
export const writes = new AsyncLocalStorage<{ wrote: boolean }>();

/** Runs a write on the primary; the primary being unreachable is PRIMARY_UNAVAILABLE, never a generic failure. */
export async function onPrimary<T>(write: () => Promise<T>): Promise<T> {
  const scope = writes.getStore();
  if (scope) scope.wrote = true;
  try {
    return await write();
  } catch (error) {
    if (isConnectionFailure(error)) {
      throw resolverError(ErrorCode.PRIMARY_UNAVAILABLE, 'The catalog primary cannot be reached, so nothing was written; reads still work. Retry the write later.');
    }
    throw error;
  }
}

/**
 * The primary's WAL position after a commit: replicas that have replayed it
 * show the write. The insert position, not pg_current_wal_lsn() (the write
 * position): with synchronous_commit off, a commit record can still sit in WAL
 * buffers behind the write position, and a token taken there would let a
 * replica that lacks the write look caught up.
 */
export async function currentWalPosition(primary: Database): Promise<string> {
  const [row] = await rowsOf<{ lsn: string }>(primary, sql`select pg_current_wal_insert_lsn()::text as lsn`);
  return row!.lsn.toUpperCase();
}
