import { eq } from 'drizzle-orm';
import { ErrorCode, resolverError } from '../../protocol/errors.js';
import { roles } from '../../protocol/roles.js';
import { laterToken } from '../../protocol/consistency-token.js';
import type { SignedCaller } from '../../protocol/signed-context.js';
import type { Database } from '../shared/db.js';
import { requireRole } from '../shared/guards.js';
import { recordEvent } from '../shared/outbox.js';
import { catalogOutbox, tenants } from './db/schema.js';
import type { TenantRow } from './loaders.js';
import { currentWalPosition, onPrimary } from './primary.js';

/** What of the catalog's request context a write needs (resolvers.ts's CatalogContext). */
interface WriteContext {
  readonly caller: SignedCaller;
  readonly primary: Database;
  readonly written: { token?: string };
}

/**
 * `suspendTenant` / `reinstateTenant`: a platform operator's change of a
 * tenant's status, on the primary, with its event in the same transaction.
 * Every region's gateway refuses (or serves again) the tenant once it has
 * consumed that event (docs/events.md), not when its cached entry expires.
 * Setting the status a tenant already has changes nothing and tells no one.
 */
export function setTenantStatus(status: TenantRow['status']) {
  return (_: unknown, args: { id: string }, { caller, primary, written }: WriteContext): Promise<TenantRow> => {
    requireRole(caller, roles.platformOperator);
    return onPrimary(async () => {
      const row = await primary.transaction(async (transaction) => {
        const tx = transaction as unknown as Database;
        const [current] = await tx.select().from(tenants).where(eq(tenants.id, args.id)).for('update');
        if (!current) throw resolverError(ErrorCode.BAD_USER_INPUT, `There is no tenant "${args.id}".`);
        if (current.status === status) return current;
        const [updated] = await tx.update(tenants).set({ status }).where(eq(tenants.id, args.id)).returning();
        await recordEvent(tx, catalogOutbox, { type: 'catalog.tenant.status-changed', tenantId: updated!.id, data: { tenantId: updated!.id, region: updated!.region, status } });
        return updated!;
      });
      written.token = laterToken(written.token, await currentWalPosition(primary));
      return row;
    });
  };
}
