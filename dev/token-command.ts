import { gatewayEnv } from '../gateway/env.js';
import { jwtSecret, signToken } from '../gateway/tokens.js';
import { parseCommandArgs, UsageError, type Command } from '../runtime/command.js';
import { firstUserOf } from '../subgraphs/index.js';

const usage = 'usage: geofed token --tenant <id> [--user <id>] [--role <role>]... [--expires 12h]';

/** A token lifetime as jose reads it: a number of seconds, or a number with a unit (`30m`, `12h`, `7d`). */
const lifetimePattern = /^\d+\s*(s|sec|secs|second|seconds|m|min|mins|minute|minutes|h|hr|hrs|hour|hours|d|day|days|w|week|weeks|y|yr|yrs|year|years)?$/i;

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
    if (!tenant) throw new UsageError('--tenant is required');
    if (!lifetimePattern.test(expires)) throw new UsageError(`--expires: "${expires}" is not a lifetime such as 30m, 12h or 7d`);
    const userId = user ?? firstUserOf(tenant)?.id;
    if (!userId) throw new UsageError(`tenant "${tenant}" has no seeded users: pass --user`);
    console.log(await signToken({ tenantId: tenant, userId, roles: role }, jwtSecret(gatewayEnv()), /^\d+$/.test(expires) ? `${expires}s` : expires));
  },
};
