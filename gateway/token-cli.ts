import { parseArgs } from 'node:util';
import { jwtSecret, signToken } from './tokens.js';
import { firstUserOf } from '../subgraphs/shared/seed-data.js';

// `npm run -s token -- --tenant acme [--user ID] [--role admin]`: prints one dev token and nothing else.
// Seed ids are deterministic, so no database is opened.
function fail(message: string): never {
  console.error(`token: ${message}\nusage: npm run -s token -- --tenant <id> [--user <id>] [--role <role>]... [--expires 12h]`);
  process.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    options: {
      tenant: { type: 'string' },
      user: { type: 'string' },
      role: { type: 'string', multiple: true, default: [] },
      expires: { type: 'string', default: '12h' },
    },
  });
} catch (error) {
  fail((error as Error).message);
}
const { tenant, user, role, expires } = parsed.values;
if (!tenant) fail('--tenant is required');
const userId = user ?? firstUserOf(tenant)?.id;
if (!userId) fail(`tenant "${tenant}" has no seeded users: pass --user`);
console.log(await signToken({ tenantId: tenant, userId, roles: role }, jwtSecret(), expires));
