import type { IncomingMessage, ServerResponse } from 'node:http';
import { clientHeaders } from '../protocol/headers.js';

/** Headers a browser frontend may send and read (Apollo's CSRF headers, tokens, read-your-writes). */
const allowedHeaders = ['content-type', 'authorization', 'apollo-require-preflight', 'x-apollo-operation-name', clientHeaders.consistency].join(', ');
const exposedHeaders = ['etag', 'retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', ...Object.values(clientHeaders)].join(', ');

/** How long a browser may reuse a preflight's answer, in seconds. */
const preflightMaxAgeSeconds = 600;

/**
 * CORS for browser frontends on the origins of supergraph.yaml `cors.allowed_origins`.
 * Sets the headers on every response to an allowed origin; answers a preflight
 * (OPTIONS) itself and returns true, so the route does nothing more.
 */
export function applyCors(req: IncomingMessage, res: ServerResponse, allowedOrigins: readonly string[]): boolean {
  const origin = req.headers.origin;
  const allowed = origin !== undefined && (allowedOrigins.includes('*') || allowedOrigins.includes(origin));
  if (allowed) {
    res.setHeader('access-control-allow-origin', allowedOrigins.includes('*') ? '*' : origin);
    res.setHeader('access-control-expose-headers', exposedHeaders);
  }
  res.setHeader('vary', 'Authorization, Origin');
  if (req.method !== 'OPTIONS') return false;
  if (allowed) {
    res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
    res.setHeader('access-control-allow-headers', allowedHeaders);
    res.setHeader('access-control-max-age', String(preflightMaxAgeSeconds));
  }
  res.writeHead(allowed ? 204 : 403, { 'cache-control': 'no-store' });
  res.end();
  return true;
}
