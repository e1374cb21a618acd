/**
 * How long the gateway keeps an idle connection to a subgraph or to another region's gateway: shorter than
 * the 65 s geofed's servers keep one (runtime/http-server.ts), so it never sends on a connection being closed.
 */
export const keepAliveTimeoutMs = 30_000;
