import { randomUUID } from 'node:crypto';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { ErrorCode, resolverError } from '../../protocol/errors.js';
import type { SignedCaller } from '../../protocol/signed-context.js';
import type { Database } from '../shared/db.js';
import { pageSize, requireUser } from '../shared/guards.js';
import { regionalOutbox } from '../shared/db/schema.js';
import { recordEvent } from '../shared/outbox.js';
import type { PriceLookup } from './catalog-prices.js';
import { orderItems, orders } from './db/schema.js';
import type { OrderItemRow, OrderRow, OrdersLoaders } from './loaders.js';

export interface OrdersContext {
  readonly caller: SignedCaller;
  /** The tenant's transaction (tenantScope): a write and its event commit together. */
  readonly db: Database;
  /** The instance's region: its events stay in it. */
  readonly region: string;
  readonly loaders: OrdersLoaders;
  readonly prices: PriceLookup;
}

interface OrderItemInput { productId: string; quantity: number }

/** `User.orders(first: Int = 10)` in schema/orders.graphql. */
const ordersPageSize = 10;
const maxLines = 50;
/** `Order.totalCents` and `order_items` prices are 32-bit integers (GraphQL Int, PostgreSQL integer). */
const maxTotalCents = 2_147_483_647;
const maxQuantity = 1_000;

export const ordersResolvers: GraphQLResolverMap<OrdersContext> = {
  Mutation: {
    placeOrder: async (_: unknown, args: { items: OrderItemInput[] }, { caller, db, region, prices }: OrdersContext) => {
      const { tenantId, userId } = requireUser(caller);
      validateItems(args.items);
      const priced = await prices([...new Set(args.items.map((item) => item.productId))], caller);
      const unknown = args.items.find((item) => !priced.has(item.productId));
      if (unknown) throw resolverError(ErrorCode.BAD_USER_INPUT, `There is no product "${unknown.productId}".`);
      const orderId = `ord_${randomUUID()}`;
      const items = args.items.map((item, index) => ({
        orderId,
        line: index + 1,
        tenantId,
        productId: item.productId,
        quantity: item.quantity,
        unitPriceCents: priced.get(item.productId)!.priceCents,
      }));
      const totalCents = items.reduce((sum, item) => sum + item.quantity * item.unitPriceCents, 0);
      if (totalCents > maxTotalCents) throw resolverError(ErrorCode.BAD_USER_INPUT, `The order's total of ${totalCents} cents is over the ${maxTotalCents} one order may hold; split it.`);
      return db.transaction(async (tx) => {
        const [order] = await tx.insert(orders).values({ id: orderId, tenantId, userId, status: 'placed', totalCents }).returning();
        await tx.insert(orderItems).values(items);
        await recordEvent(tx as unknown as Database, regionalOutbox, { type: 'orders.order.placed', region, tenantId, data: { orderId, tenantId, userId, totalCents, lines: items.length } });
        return order;
      });
    },
  },
  User: {
    orders: (user: { id: string }, args: { first?: number | null }, { loaders }: OrdersContext) =>
      loaders.newestOrdersOfUser(pageSize(args.first, ordersPageSize)).load(user.id),
  },
  Order: {
    __resolveReference: (reference: { id: string }, { loaders }: OrdersContext) => loaders.order.load(reference.id),
    user: (order: OrderRow) => ({ __typename: 'User', id: order.userId }),
    items: (order: OrderRow, _: unknown, { loaders }: OrdersContext) => loaders.itemsOfOrder.load(order.id),
  },
  OrderItem: {
    product: (item: OrderItemRow) => ({ __typename: 'Product', id: item.productId }),
  },
};

function validateItems(items: readonly OrderItemInput[]): void {
  if (items.length === 0 || items.length > maxLines) {
    throw resolverError(ErrorCode.BAD_USER_INPUT, `An order needs 1 to ${maxLines} items, got ${items.length}.`);
  }
  const bad = items.find((item) => !Number.isInteger(item.quantity) || item.quantity < 1 || item.quantity > maxQuantity);
  if (bad) throw resolverError(ErrorCode.BAD_USER_INPUT, `quantity must be 1 to ${maxQuantity}, got ${bad.quantity} for "${bad.productId}".`);
}
