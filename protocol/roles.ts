/**
 * The roles a token may carry that geofed's subgraphs act on. A tenant's
 * `admin` manages its own tenant only; writing what every tenant sees (the
 * global catalog, a tenant's suspension) needs `platform-operator`, a role no
 * tenant's token carries unless its identity provider grants it.
 */
export const roles = {
  tenantAdmin: 'admin',
  platformOperator: 'platform-operator',
} as const;
