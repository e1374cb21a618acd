/**
 * Every header name of the wire contract, one name per role.
 *
 * Client-facing headers: a client sends and reads these at a gateway.
 * `geofed-consistency` has no `x-geofed-` prefix on purpose: a gateway drops
 * every `x-geofed-*` header a client sends, and a client must be able to send
 * its read-your-writes token back. A catalog answers its writes with the same
 * header (a response carrying the token of its writes, whoever reads it).
 */
export const clientHeaders = {
  /** Request and response: the read-your-writes token (a primary WAL position). */
  consistency: 'geofed-consistency',
  /** Response: the region of the gateway that answered. */
  gatewayRegion: 'x-geofed-gateway-region',
  /** Response: the regions whose regional subgraphs served part of the response. */
  dataRegion: 'x-geofed-data-region',
  /** Response: the regions whose global subgraph instances served part of the response (another one after a failover). */
  globalRegion: 'x-geofed-global-region',
  /** Response to a signed-in caller: its tenant's home region, where its operations are executed. */
  homeRegion: 'x-geofed-home-region',
  /** Response to a signed-in caller: the public endpoint of its home region's gateway, when configured. */
  homeEndpoint: 'x-geofed-home-endpoint',
  /** Response: the version of each subgraph that served it (`catalog@v1,users@v2,orders@v1`). */
  version: 'x-geofed-version',
} as const;

/**
 * The signed context of a gateway → subgraph request (see signed-context.ts).
 * Only a gateway sets them; a gateway never forwards a client's copy.
 */
export const contextHeaders = {
  tenant: 'x-geofed-tenant',
  user: 'x-geofed-user',
  roles: 'x-geofed-roles',
  region: 'x-geofed-region',
  /** The client's read-your-writes token, inside the signature. */
  consistency: 'x-geofed-consistency',
  timestamp: 'x-geofed-timestamp',
  /** Remembered by the subgraph for the signature window: a replayed request is refused. */
  nonce: 'x-geofed-nonce',
  signature: 'x-geofed-signature',
} as const;

/**
 * W3C Trace Context. A gateway sends its fetch's or its hop's trace context
 * with the signed headers and signs it with them (signed-context.ts,
 * hop-signature.ts); a subgraph or a home gateway continues only a signed
 * one. Sent only while tracing is on.
 */
export const traceHeaders = {
  parent: 'traceparent',
  state: 'tracestate',
} as const;

/**
 * A request one gateway forwards whole to the tenant's home gateway (the
 * hop), signed with the hop secret over the method, the path, the forwarded
 * client headers, a nonce, a timestamp and the SHA-256 of the body.
 */
export const hopHeaders = {
  /** The region of the gateway that forwarded the request. */
  from: 'x-geofed-hop-from',
  timestamp: 'x-geofed-hop-timestamp',
  /** Remembered by the home gateway for the signature window: a replayed hop is refused. */
  nonce: 'x-geofed-hop-nonce',
  signature: 'x-geofed-hop-signature',
} as const;

/** The prefix of every internal header: a gateway ignores a client's `x-geofed-*` headers. */
export const internalHeaderPrefix = 'x-geofed-';
