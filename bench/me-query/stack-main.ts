import { devToken, startTestStack, type Driver } from '../../test/fixtures/stack.js';
import { meTenants } from './tenants.js';

// geofed's own subgraphs for the `me` workload, every region's, in a process of their own (PGlite
// lives in the process that opened it): `stack-main.ts pglite|postgres` starts them on free ports,
// prints one `ready` line (the bound URLs of every subgraph by region, a token per seeded tenant)
// and serves until signalled. The gateways under test run in their own processes.
const driver = process.argv[2] as Driver | undefined;
if (driver !== 'pglite' && driver !== 'postgres') {
  console.error('usage: stack-main.ts pglite|postgres');
  process.exit(2);
}

const t = await startTestStack(driver);
const subgraphs = t.stack.config.subgraphs.map(({ name, scope, urls }) => ({ name, scope, urls }));
const tokens = Object.fromEntries(await Promise.all(meTenants.map(async ({ tenantId, userId }) => [tenantId, await devToken(tenantId, userId, { expiresIn: '12h' })])));
console.log(`ready ${JSON.stringify({ subgraphs, tokens })}`);

const stop = async () => {
  await t.stop();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
