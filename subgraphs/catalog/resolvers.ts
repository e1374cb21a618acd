import { randomUUID } from 'node:crypto';
import { asc } from 'drizzle-orm';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { ErrorCode, resolverError } from '../../protocol/errors.js';
import { roles } from '../../protocol/roles.js';
import type { SignedCaller } from '../../protocol/signed-context.js';
import type { Database } from '../shared/db.js';
import { pageSize, requireRole, requireTenant } from '../shared/guards.js';
import { laterToken } from '../../protocol/consistency-token.js';
import { recordEvent } from '../shared/outbox.js';
import { catalogOutbox, products } from './db/schema.js';
import { currentWalPosition, onPrimary } from './primary.js';
import { setTenantStatus } from './tenant-status.js';
import type { CatalogLoaders, TenantRow } from './loaders.js';

export interface CatalogContext {
  readonly caller: SignedCaller;
  /** The request's read transaction: on the region's replica, or on the primary (see ReadRouter). */
  readonly db: Database;
  /** Writes go to the primary. */
  readonly primary: Database;
  readonly loaders: CatalogLoaders;
  /** The consistency token of this request's writes. */
  readonly written: { token?: string };
}

/** `products(first: Int = 20)` in schema/catalog.graphql. */
const productsPageSize = 20;

/**
 * A product's price bound: orders multiply prices by quantities and sum them
 * into a 32-bit GraphQL Int, and this bound (with the orders subgraph's) keeps
 * every product an order can hold representable.
 */
const maxPriceCents = 10_000_000;
const maxProductNameLength = 200;

interface UpsertProductArgs { id?: string | null; name: string; priceCents: number }

export const catalogResolvers: GraphQLResolverMap<CatalogContext> = {
  Query: {
    // Awaited here: a Drizzle query runs again on every `.then`, and Apollo's cache-control plugin calls it twice.
    products: async (_: unknown, args: { first?: number | null }, { db }: CatalogContext) =>
      await db.select().from(products).orderBy(asc(products.id)).limit(pageSize(args.first, productsPageSize)),
    product: (_: unknown, args: { id: string }, { loaders }: CatalogContext) => loaders.product.load(args.id),
    tenant: (_: unknown, __: unknown, { caller, loaders }: CatalogContext) => loaders.tenant.load(requireTenant(caller).tenantId),
    tenantDirectoryEntry: (_: unknown, args: { id: string }, { loaders }: CatalogContext) => loaders.tenant.load(args.id),
  },
  Mutation: {
    upsertProduct: async (_: unknown, args: UpsertProductArgs, { caller, primary, written }: CatalogContext) => {
      requireRole(caller, roles.platformOperator);
      if (!Number.isInteger(args.priceCents) || args.priceCents < 0 || args.priceCents > maxPriceCents) {
        throw resolverError(ErrorCode.BAD_USER_INPUT, `priceCents must be a whole number from 0 to ${maxPriceCents}, got ${args.priceCents}.`);
      }
      const name = args.name.trim();
      if (name.length === 0 || name.length > maxProductNameLength) throw resolverError(ErrorCode.BAD_USER_INPUT, `name must be 1 to ${maxProductNameLength} characters.`);
      if (args.id !== undefined && args.id !== null && !/^[A-Za-z0-9_-]{1,64}$/.test(args.id)) throw resolverError(ErrorCode.BAD_USER_INPUT, 'id must be 1 to 64 letters, digits, "_" or "-".');
      const values = { id: args.id ?? `prd_${randomUUID()}`, name, priceCents: args.priceCents };
      return onPrimary(async () => {
        // The change and its event commit together: every region learns of the product, or nothing was written.
        const row = await primary.transaction(async (transaction) => {
          const tx = transaction as unknown as Database;
          const [upserted] = await tx
            .insert(products)
            .values(values)
            .onConflictDoUpdate({ target: products.id, set: { name: values.name, priceCents: values.priceCents, updatedAt: new Date() } })
            .returning();
          const { id, name, priceCents, currency } = upserted!;
          await recordEvent(tx, catalogOutbox, { type: 'catalog.product.upserted', data: { id, name, priceCents, currency } });
          return upserted!;
        });
        written.token = laterToken(written.token, await currentWalPosition(primary));
        return row;
      });
    },
    suspendTenant: setTenantStatus('suspended'),
    reinstateTenant: setTenantStatus('active'),
  },
  Tenant: {
    __resolveReference: (reference: { id: string }, { loaders }: CatalogContext) => loaders.tenant.load(reference.id),
    region: (tenant: TenantRow) => tenant.region.toUpperCase(),
    plan: (tenant: TenantRow) => tenant.billingPlan,
    status: (tenant: TenantRow) => tenant.status.toUpperCase(),
  },
  Product: {
    __resolveReference: (reference: { id: string }, { loaders }: CatalogContext) => loaders.product.load(reference.id),
  },
};
