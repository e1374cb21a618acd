import { randomUUID } from 'node:crypto';
import { asc } from 'drizzle-orm';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { ErrorCode, resolverError } from '../../protocol/errors.js';
import type { SignedCaller } from '../../protocol/signed-context.js';
import type { Database } from '../shared/db.js';
import { pageSize, requireRole, requireTenant } from '../shared/guards.js';
import { laterToken } from '../../protocol/consistency-token.js';
import { products } from './db/schema.js';
import { currentWalPosition, onPrimary } from './primary.js';
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

interface UpsertProductArgs { id?: string | null; name: string; priceCents: number }

export const catalogResolvers: GraphQLResolverMap<CatalogContext> = {
  Query: {
    products: (_: unknown, args: { first?: number | null }, { db }: CatalogContext) =>
      db.select().from(products).orderBy(asc(products.id)).limit(pageSize(args.first, productsPageSize)),
    product: (_: unknown, args: { id: string }, { loaders }: CatalogContext) => loaders.product.load(args.id),
    tenant: (_: unknown, __: unknown, { caller, loaders }: CatalogContext) => loaders.tenant.load(requireTenant(caller).tenantId),
    tenantDirectoryEntry: (_: unknown, args: { id: string }, { loaders }: CatalogContext) => loaders.tenant.load(args.id),
  },
  Mutation: {
    upsertProduct: async (_: unknown, args: UpsertProductArgs, { caller, primary, written }: CatalogContext) => {
      requireRole(caller, 'admin');
      if (!Number.isInteger(args.priceCents) || args.priceCents < 0) {
        throw resolverError(ErrorCode.BAD_USER_INPUT, `priceCents must be a non-negative integer, got ${args.priceCents}.`);
      }
      const values = { id: args.id ?? `prd_${randomUUID()}`, name: args.name, priceCents: args.priceCents };
      return onPrimary(async () => {
        const [row] = await primary
          .insert(products)
          .values(values)
          .onConflictDoUpdate({ target: products.id, set: { name: values.name, priceCents: values.priceCents, updatedAt: new Date() } })
          .returning();
        written.token = laterToken(written.token, await currentWalPosition(primary));
        return row;
      });
    },
  },
  Tenant: {
    __resolveReference: (reference: { id: string }, { loaders }: CatalogContext) => loaders.tenant.load(reference.id),
    region: (tenant: TenantRow) => tenant.region.toUpperCase(),
    status: (tenant: TenantRow) => tenant.status.toUpperCase(),
  },
  Product: {
    __resolveReference: (reference: { id: string }, { loaders }: CatalogContext) => loaders.product.load(reference.id),
  },
};
