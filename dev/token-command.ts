import { gatewayEnv } from '../gateway/env.js';
import { jwtSecret, signToken } from '../gateway/tokens.js';
import { roles } from '../protocol/roles.js';
import { parseCommandArgs, UsageError, type Command } from '../runtime/command.js';
import { firstUserOf, seedTenants } from '../subgraphs/index.js';

const seededTenants = seedTenants.map((tenant) => tenant.id).join(', ');

const usage = `usage: geofed token --tenant <id> [--user <id>] [--role <role>]... [--expires 12h]
  --tenant ID      the tenant (seeded: ${seededTenants})
  --user ID        the user (default: the tenant's first seeded user; required for any other tenant)
  --role ROLE      a role of the user (${Object.values(roles).join(', ')}); repeat for several
  --expires TIME   lifetime: seconds, or a number with a unit (30m, 12h, 7d); the gateway refuses
                   tokens that live longer than auth.max_token_lifetime_seconds (24h by default)`;

/** A token lifetime as jose reads it: a number of seconds, or a number with a unit (`30m`, `12h`, `7d`). */
const lifetimePattern = /^(\d+)\s*(s|sec|secs|second|seconds|m|min|mins|minute|minutes|h|hr|hrs|hour|hours|d|day|days|w|week|weeks|y|yr|yrs|year|years)?$/i;

/**
 * `geofed token --tenant acme` (`npm run -s token -- …`): prints one dev
 * token and nothing else. Seed ids are deterministic, so no database is opened.
 */
export const tokenCommand: Command = {
  usage,
  async run(args) {
    const { values } = parseCommandArgs(args, {
      tenant: { type: 'string' },
      user: { type: 'string' },
      role: { type: 'string', multiple: true, default: [] },
      expires: { type: 'string', default: '12h' },
    });
    const { tenant, user, role, expires } = values;
    if (!tenant) throw new UsageError(`--tenant is required (seeded: ${seededTenants})`);
    const lifetime = lifetimePattern.exec(expires);
    if (!lifetime) throw new UsageError(`--expires: "${expires}" is not a lifetime such as 30m, 12h or 7d`);
    if (Number(lifetime[1]) === 0) throw new UsageError(`--expires: a token that lives "${expires}" has expired when it is printed`);
    const userId = user ?? firstUserOf(tenant)?.id;
    if (!userId) throw new UsageError(`tenant "${tenant}" is not seeded (seeded: ${seededTenants}): pass one of those, or --user <id> for a tenant of your own`);
    console.log(await signToken({ tenantId: tenant, userId, roles: role }, jwtSecret(gatewayEnv()), lifetime[2] === undefined ? `${expires}s` : expires));
  },
};
