/**
 * What a database failure means for a request, read from the error and its
 * `cause` chain (drizzle wraps the driver's error): postgres.js and Node
 * connection codes, and PostgreSQL's SQLSTATEs for a server that is shutting
 * down, cannot take connections, or has none left.
 */
const connectionCodes = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH',
  'CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED',
  '57P01', '57P02', '57P03', '08000', '08003', '08006',
]);
/** too_many_connections, configuration_limit_exceeded: the server is up but full. */
const capacityCodes = new Set(['53300', '53400']);

function codesOf(error: unknown): string[] {
  const codes: string[] = [];
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 5; depth += 1) {
    const { code, cause } = current as { code?: unknown; cause?: unknown };
    if (typeof code === 'string') codes.push(code);
    current = cause;
  }
  return codes;
}

/** The database could not be reached, or the connection died under the request. */
export function isConnectionFailure(error: unknown): boolean {
  return codesOf(error).some((code) => connectionCodes.has(code));
}

/** The database is out of connections. */
export function isCapacityFailure(error: unknown): boolean {
  return codesOf(error).some((code) => capacityCodes.has(code));
}
