// The seeded tenants the `me` workload signs in as, one per region (README, "First queries"): each
// connection of the load is one of them in turn, so every region's subgraphs serve a share.
export const meTenants = [
  { tenantId: 'acme', userId: 'usr_acme_1', region: 'eu' },
  { tenantId: 'globex', userId: 'usr_globex_1', region: 'us' },
  { tenantId: 'initech', userId: 'usr_initech_1', region: 'apac' },
  { tenantId: 'umbrella', userId: 'usr_umbrella_1', region: 'latam' },
] as const;

export type MeTenant = (typeof meTenants)[number];

export const meQuery = /* GraphQL */ '{ me { orders { items { product { name } } } } }';

/** The header that tells the bare gateway whom to sign in as: it has no tokens of its own (bare-regional-main.ts). */
export const benchTenantHeader = 'x-bench-tenant';
