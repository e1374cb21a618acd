import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode } from '../protocol/errors.js';
import { rateLimitHeaderNames } from '../plugins/rate-limit/headers.js';
import { clientHeaders } from '../protocol/headers.js';
import { writeGraphQLError } from '../runtime/http-server.js';

/** Headers a browser frontend may send and read (Apollo's CSRF headers, tokens, read-your-writes, every RateLimit field). */
const allowedHeaders = ['content-type', 'authorization', 'apollo-require-preflight', 'x-apollo-operation-name', clientHeaders.consistency];
const exposedHeaders = ['etag', 'retry-after', ...rateLimitHeaderNames, ...Object.values(clientHeaders)].join(', ');

/** How long a browser may reuse a preflight's answer, in seconds. */
const preflightMaxAgeSeconds = 600;

/**
 * CORS for browser frontends on the origins of supergraph.yaml `cors.allowed_origins`.
 * Sets the headers on every response to an allowed origin; answers a preflight
 * (OPTIONS) itself and returns true, so the route does nothing more. A refused
 * preflight is a 403 CORS_ORIGIN_REFUSED whose message names the origin and the
 * setting that allows it (the browser's console only says "CORS error"; the
 * body is what a developer finds in the network panel or with curl). Other
 * requests from an origin not listed are served without CORS headers, and the
 * browser keeps the answer from the page: refusing them here would also refuse
 * the gateway's own landing page, whose requests carry its own origin.
 */
export function applyCors(req: IncomingMessage, res: ServerResponse, allowedOrigins: readonly string[], forwardedHeaders: readonly string[] = []): boolean {
  const origin = req.headers.origin;
  const allowed = origin !== undefined && (allowedOrigins.includes('*') || allowedOrigins.includes(origin));
  if (allowed) {
    res.setHeader('access-control-allow-origin', allowedOrigins.includes('*') ? '*' : origin);
    res.setHeader('access-control-expose-headers', exposedHeaders);
  }
  res.setHeader('vary', 'Authorization, Origin');
  if (req.method !== 'OPTIONS') return false;
  res.setHeader('cache-control', 'no-store');
  if (!allowed) {
    writeGraphQLError(res, ErrorCode.CORS_ORIGIN_REFUSED, refusalMessage(origin, allowedOrigins));
    return true;
  }
  res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
  // A header the gateway passes on to subgraphs (headers.forward) is one a frontend may send.
  res.setHeader('access-control-allow-headers', [...new Set([...allowedHeaders, ...forwardedHeaders])].join(', '));
  res.setHeader('access-control-max-age', String(preflightMaxAgeSeconds));
  res.writeHead(204);
  res.end();
  return true;
}

/** The longest origin a browser can send for an http(s) page: `https://`, a 253-character host name, `:65535`. */
const maxOriginLength = 'https://'.length + 253 + ':65535'.length;

/** An http(s) origin as browsers serialize it: scheme, host name or [IPv6] address, optional port; no path, no user, no spaces. */
const originPattern = /^https?:\/\/(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

/**
 * Why a preflight was refused and what allows it. The origin is client data
 * repeated in the gateway's own answer, so it is named only when it is a
 * syntactically valid http(s) origin of bounded length: then it holds nothing
 * but a host name's characters and a port, and cannot carry markup, control
 * characters or a long text for someone else's page or terminal. Any other
 * value is described, never repeated.
 */
function refusalMessage(origin: string | undefined, allowedOrigins: readonly string[]): string {
  const setting = allowedOrigins.length === 0 ? 'cors.allowed_origins in the gateway\'s supergraph.yaml (empty: no browser origin is allowed)' : 'cors.allowed_origins in the gateway\'s supergraph.yaml';
  if (origin === undefined) return 'CORS preflight refused: the request has no Origin header, so there is no origin to allow.';
  if (origin === 'null') return `CORS preflight refused for origin "null" (a page opened from a file, or a sandboxed frame): serve the page over http(s) and add its origin to ${setting}, or allow every origin with "*".`;
  if (origin.length <= maxOriginLength && originPattern.test(origin)) return `CORS preflight refused: origin ${origin} is not allowed. Add it to ${setting}.`;
  return `CORS preflight refused: the Origin header is not an http(s) origin such as https://app.example.com (not repeated here), and only the origins of ${setting} are allowed.`;
}
