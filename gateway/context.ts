/** The authenticated caller, with its region from the tenants directory (never from the token). */
export interface Caller {
  readonly tenantId: string;
  readonly userId: string;
  readonly roles: readonly string[];
  readonly region: string;
  readonly plan: string;
}

/** Apollo's per-request context in the gateway. */
export interface GatewayContext {
  /** Null for an anonymous request. */
  readonly caller: Caller | null;
  /** Who an anonymous caller is, for its rate limit: its address, or the first X-Forwarded-For hop (config). */
  readonly clientKey: string;
  /** Regions whose regional subgraphs served part of this response (the `x-geofed-data-region` header). */
  readonly dataRegions: Set<string>;
  /** Read-your-writes: the token the client sent, and the latest one the subgraphs' writes returned. */
  readonly consistency: { readonly requested?: string; written?: string };
  /** Test-only: the database sessions subgraphs reported (see SubgraphTestHooks.reportSession). */
  readonly subgraphSessions?: SubgraphSession[];
}

export interface SubgraphSession {
  readonly subgraph: string;
  readonly region: string;
  readonly [detail: string]: unknown;
}
