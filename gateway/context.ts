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
  /** Regions whose regional subgraphs served part of this response (the `x-geofed-data-region` header). */
  readonly dataRegions: Set<string>;
}
