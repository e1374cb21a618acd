import { randomBytes, randomUUID } from 'node:crypto';
import { and, asc, desc, eq, sql } from 'drizzle-orm';
import { ErrorCode, resolverError } from '../../../protocol/errors.js';
import { isEventTypeName } from '../../../protocol/events.js';
import { roles } from '../../../protocol/roles.js';
import type { SignedCaller } from '../../../protocol/signed-context.js';
import type { Database } from '../../shared/db.js';
import { pageSize, requireRole, requireTenant } from '../../shared/guards.js';
import { webhookAttempts, webhookDeliveries, webhookEndpoints } from '../db/webhooks.js';
import type { WebhookSettings } from './settings.js';
import { checkWebhookTarget, WebhookTargetError } from './target-check.js';

/** What of the users subgraph's request context the webhook fields need (resolvers.ts's UsersContext). */
export interface WebhookContext {
  readonly caller: SignedCaller;
  /** The tenant's transaction: row-level security keeps every other tenant's endpoints out of reach. */
  readonly db: Database;
  readonly webhooks: WebhookSettings;
}

type EndpointRow = typeof webhookEndpoints.$inferSelect & { readonly shownSecret?: string };
type DeliveryRow = typeof webhookDeliveries.$inferSelect;

const maxEndpointsPerTenant = 20;
const maxEventTypes = 20;
/** `WebhookEndpoint.deliveries(first: Int = 20)` in schema/users.graphql. */
const deliveriesPageSize = 20;

/** A tenant's admin manages its tenant's endpoints; the tenant is the token's, never an argument. */
function adminOf(caller: SignedCaller): string {
  requireRole(caller, roles.tenantAdmin);
  return requireTenant(caller).tenantId;
}

const delivery = (row: DeliveryRow) => ({ ...row, status: row.status.toUpperCase(), nextAttemptAt: row.status === 'pending' ? row.nextAttemptAt.toISOString() : null });

export const webhookResolvers = {
  Query: {
    webhooks: async (_: unknown, __: unknown, { caller, db }: WebhookContext) => {
      const tenantId = adminOf(caller);
      return await db.select().from(webhookEndpoints).where(eq(webhookEndpoints.tenantId, tenantId)).orderBy(asc(webhookEndpoints.createdAt));
    },
  },
  Mutation: {
    registerWebhook: async (_: unknown, args: { url: string; events: string[] }, { caller, db, webhooks }: WebhookContext): Promise<EndpointRow> => {
      const tenantId = adminOf(caller);
      const events = [...new Set(args.events)];
      if (events.length === 0 || events.length > maxEventTypes) throw resolverError(ErrorCode.BAD_USER_INPUT, `events needs 1 to ${maxEventTypes} event types.`);
      const unknown = events.find((type) => !isEventTypeName(type));
      if (unknown !== undefined) throw resolverError(ErrorCode.BAD_USER_INPUT, `"${unknown.slice(0, 100)}" is not an event type (docs/events.md).`);
      try {
        await checkWebhookTarget(args.url, webhooks.allow);
      } catch (error) {
        if (error instanceof WebhookTargetError) throw resolverError(ErrorCode.BAD_USER_INPUT, `The webhook URL is refused: ${error.message}.`);
        throw error;
      }
      const [{ count = 0 } = {}] = await db.select({ count: sql<number>`count(*)::int` }).from(webhookEndpoints).where(eq(webhookEndpoints.tenantId, tenantId));
      if (count >= maxEndpointsPerTenant) throw resolverError(ErrorCode.BAD_USER_INPUT, `A tenant has at most ${maxEndpointsPerTenant} webhook endpoints; delete one first.`);
      const secret = `whsec_${randomBytes(24).toString('base64')}`;
      const [row] = await db.insert(webhookEndpoints).values({ id: `whe_${randomUUID()}`, tenantId, url: args.url, events, secret }).returning();
      return { ...row!, shownSecret: secret };
    },
    deleteWebhook: async (_: unknown, args: { id: string }, { caller, db }: WebhookContext) => {
      const tenantId = adminOf(caller);
      const deleted = await db.delete(webhookEndpoints).where(and(eq(webhookEndpoints.tenantId, tenantId), eq(webhookEndpoints.id, args.id))).returning({ id: webhookEndpoints.id });
      // Another tenant's endpoint is no endpoint of this one: the answer never says it exists.
      if (deleted.length === 0) throw resolverError(ErrorCode.NOT_FOUND, `Your tenant has no webhook endpoint "${args.id.slice(0, 100)}".`);
      return true;
    },
    replayWebhookDelivery: async (_: unknown, args: { id: string }, { caller, db, webhooks }: WebhookContext) => {
      const tenantId = adminOf(caller);
      const [row] = await db
        .update(webhookDeliveries)
        .set({ status: 'pending', nextAttemptAt: new Date(), attemptLimit: sql`${webhookDeliveries.attempts} + ${webhooks.retry.maxAttempts}` })
        .where(and(eq(webhookDeliveries.tenantId, tenantId), eq(webhookDeliveries.id, args.id), eq(webhookDeliveries.status, 'dead')))
        .returning();
      if (!row) throw resolverError(ErrorCode.NOT_FOUND, `Your tenant has no dead webhook delivery "${args.id.slice(0, 100)}".`);
      return delivery(row);
    },
  },
  WebhookEndpoint: {
    secret: (endpoint: EndpointRow) => endpoint.shownSecret ?? null,
    createdAt: (endpoint: EndpointRow) => endpoint.createdAt.toISOString(),
    deliveries: async (endpoint: EndpointRow, args: { first?: number | null }, { db }: WebhookContext) => {
      const rows = await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, endpoint.id)).orderBy(desc(webhookDeliveries.createdAt)).limit(pageSize(args.first, deliveriesPageSize));
      return rows.map(delivery);
    },
  },
  WebhookDelivery: {
    attempts: async (row: DeliveryRow, _: unknown, { db }: WebhookContext) => {
      const rows = await db.select().from(webhookAttempts).where(eq(webhookAttempts.deliveryId, row.id)).orderBy(asc(webhookAttempts.attempt));
      return rows.map((a) => ({ ...a, startedAt: a.startedAt.toISOString() }));
    },
  },
};
