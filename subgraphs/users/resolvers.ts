import { and, eq } from 'drizzle-orm';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { ErrorCode, resolverError } from '../../protocol/errors.js';
import type { SignedCaller } from '../../protocol/signed-context.js';
import type { Database } from '../shared/db.js';
import { requireTenant, requireUser } from '../shared/guards.js';
import { recordEvent } from '../shared/outbox.js';
import { regionalOutbox } from '../shared/db/schema.js';
import { users } from './db/schema.js';
import type { UserRow, UsersLoaders } from './loaders.js';
import type { WebhookSettings } from './webhooks/settings.js';
import { webhookResolvers } from './webhooks/resolvers.js';

export interface UsersContext {
  readonly caller: SignedCaller;
  /** The tenant's transaction (tenantScope): a write and its event commit together. */
  readonly db: Database;
  /** The instance's region: its events stay in it. */
  readonly region: string;
  readonly loaders: UsersLoaders;
  readonly webhooks: WebhookSettings;
}

export const usersResolvers: GraphQLResolverMap<UsersContext> = {
  Query: {
    me: (_: unknown, __: unknown, { caller, loaders }: UsersContext) => loaders.user.load(requireUser(caller).userId),
    user: (_: unknown, args: { id: string }, { caller, loaders }: UsersContext) => {
      requireTenant(caller);
      return loaders.user.load(args.id);
    },
    ...webhookResolvers.Query,
  },
  Mutation: {
    updateProfile: async (_: unknown, args: { name: string }, { caller, db, region }: UsersContext) => {
      const { tenantId, userId } = requireUser(caller);
      const name = args.name.trim();
      if (name.length === 0 || name.length > 200) throw resolverError(ErrorCode.BAD_USER_INPUT, 'name must be 1 to 200 characters.');
      const [row] = await db
        .update(users)
        .set({ name })
        .where(and(eq(users.tenantId, tenantId), eq(users.id, userId)))
        .returning();
      if (!row) throw resolverError(ErrorCode.FORBIDDEN, 'The signed-in user does not exist in its tenant.');
      await recordEvent(db, regionalOutbox, { type: 'users.profile.updated', region, tenantId, data: { userId, tenantId, name } });
      return row;
    },
    ...webhookResolvers.Mutation,
  },
  WebhookEndpoint: webhookResolvers.WebhookEndpoint,
  WebhookDelivery: webhookResolvers.WebhookDelivery,
  User: {
    __resolveReference: (reference: { id: string }, { loaders }: UsersContext) => loaders.user.load(reference.id),
    tenant: (user: UserRow) => ({ __typename: 'Tenant', id: user.tenantId }),
  },
};
