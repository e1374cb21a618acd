import type { IncomingMessage } from 'node:http';
import { parseConsistencyToken } from '../protocol/consistency-token.js';
import { ErrorCode, geofedError } from '../protocol/errors.js';
import { clientHeaders } from '../protocol/headers.js';
import type { TenantDirectory } from './tenant-directory.js';
import type { TokenVerifier } from './tokens.js';

/** The authenticated caller, with its region from the tenants directory (never from the token). */
export interface Caller {
  readonly tenantId: string;
  readonly userId: string;
  readonly roles: readonly string[];
  readonly region: string;
  /** The tenant's billing plan, which sizes its budgets. */
  readonly billingPlan: string;
}

/** Apollo's per-request context in the gateway. */
export interface GatewayContext {
  /** Null for an anonymous request. */
  readonly caller: Caller | null;
  /** Who an anonymous caller is, for its rate limit: its address, or the first X-Forwarded-For hop (config). */
  readonly clientKey: string;
  /** Regions whose regional subgraphs served part of this response (the `x-geofed-data-region` header). */
  readonly dataRegions: Set<string>;
  /** Regions whose global subgraph instances served part of this response (the `x-geofed-global-region` header). */
  readonly globalRegions: Set<string>;
  /** Read-your-writes: the token the client sent, and the latest one the subgraphs' writes returned. */
  readonly consistency: { readonly requested?: string; written?: string };
}

export interface CallerResolverOptions {
  readonly directory: TenantDirectory;
  /** Verifies client tokens (HS256, and RS256/ES256 through a JWKS when configured). */
  readonly verifier: TokenVerifier;
  /** Regions this deployment serves; a tenant homed elsewhere cannot be served. */
  readonly regions: readonly string[];
}

/**
 * Step 2 of a request: token → tenant → region from the tenants directory,
 * before anything else reads the request, so every later step (forwarding,
 * limits, cost, the data source) sees the same resolved caller. No
 * `Authorization` header is an anonymous caller (null); a bad one is refused
 * even for public fields, so a client never mistakes a broken token for a
 * session. Next: the request is forwarded to its home region
 * (home-forwarding.ts) or runs here, through the plugins of plugin-chain.ts.
 */
export function callerResolver({ directory, verifier, regions }: CallerResolverOptions) {
  return async (authorization: string | undefined): Promise<Caller | null> => {
    if (authorization === undefined || authorization === '') return null;
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!match) throw geofedError(ErrorCode.UNAUTHENTICATED, 'The Authorization header must be "Bearer <token>".');
    const claims = await verifier(match[1]!);
    const tenant = await directory.lookup(claims.tenantId);
    if (!tenant) throw geofedError(ErrorCode.FORBIDDEN, `Tenant "${claims.tenantId}" is not in the tenants directory.`);
    if (tenant.status === 'suspended') throw geofedError(ErrorCode.FORBIDDEN, `Tenant "${claims.tenantId}" is suspended; contact its administrator.`);
    if (!regions.includes(tenant.region)) {
      throw geofedError(ErrorCode.FORBIDDEN, `Tenant "${claims.tenantId}" lives in region "${tenant.region}", which this deployment does not serve.`);
    }
    return { ...claims, region: tenant.region, billingPlan: tenant.billingPlan };
  };
}

/** Apollo's per-request context, for a caller already resolved (a refusal is answered by Apollo, with its status). */
export function contextOf(req: IncomingMessage, caller: Caller | null, clientKey: 'address' | 'x-forwarded-for'): GatewayContext {
  const requested = parseConsistencyToken(req.headers[clientHeaders.consistency]);
  return {
    caller,
    clientKey: clientKeyOf(req, clientKey),
    dataRegions: new Set(),
    globalRegions: new Set(),
    consistency: requested === undefined ? {} : { requested },
  };
}

/** Who an anonymous caller is: its address, or the first hop of X-Forwarded-For behind a trusted proxy. */
function clientKeyOf(req: IncomingMessage, source: 'address' | 'x-forwarded-for'): string {
  const forwarded = req.headers['x-forwarded-for'];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
  return source === 'x-forwarded-for' && first ? first : (req.socket.remoteAddress ?? 'unknown');
}
