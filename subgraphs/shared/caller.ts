import type { IncomingMessage } from 'node:http';

/** Who a subgraph request is for, as the gateway forwarded it in `x-geofed-*` headers. */
export interface SubgraphCaller {
  readonly tenantId?: string;
  readonly userId?: string;
  readonly roles: readonly string[];
  /** The tenant's home region, from the gateway's tenants directory. */
  readonly region?: string;
}

export const callerHeaders = {
  tenant: 'x-geofed-tenant',
  user: 'x-geofed-user',
  roles: 'x-geofed-roles',
  region: 'x-geofed-region',
} as const;

export function callerFromRequest(req: IncomingMessage): SubgraphCaller {
  const header = (name: string) => {
    const value = req.headers[name];
    return typeof value === 'string' && value.length > 0 ? value : undefined;
  };
  const roles = header(callerHeaders.roles);
  return {
    tenantId: header(callerHeaders.tenant),
    userId: header(callerHeaders.user),
    roles: roles ? roles.split(',') : [],
    region: header(callerHeaders.region),
  };
}
