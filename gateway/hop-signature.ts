import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { clientHeaders, hopHeaders, traceHeaders } from '../protocol/headers.js';
import { freshNonce, isTraceContext, type TraceContext } from '../protocol/signed-context.js';

/**
 * The client headers a hop carries to the home gateway, and signs: what the
 * home gateway needs to answer exactly as if the client had called it (the
 * token, the read-your-writes token, CSRF and CORS headers, validators).
 */
const signedHopHeaders = [
  'authorization',
  'content-type',
  'accept',
  clientHeaders.consistency,
  'apollo-require-preflight',
  'x-apollo-operation-name',
  'if-none-match',
  'origin',
] as const;

export interface HopRequest {
  readonly method: string;
  /** Path and query string: a GET carries its operation there. */
  readonly target: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Uint8Array;
  /**
   * The forwarding gateway's own trace context (its forward span), signed with the rest (`v2`): never the
   * client's, whose `traceparent` a hop does not carry. Signing reads it here; verifying reads the headers.
   */
  readonly trace?: TraceContext;
}

function headerValue(headers: IncomingHttpHeaders, name: string): string {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}

/** The signed text: `v1` without a trace context, `v2` with one (its two headers are the last lines). */
function canonical(request: HopRequest, from: string, nonce: string, timestamp: string, trace: TraceContext | undefined): string {
  const bodyHash = createHash('sha256').update(request.body).digest('hex');
  const forwarded = signedHopHeaders.map((name) => `${name}:${headerValue(request.headers, name)}`);
  const traced = trace ? [`${traceHeaders.parent}:${trace.traceparent}`, `${traceHeaders.state}:${trace.tracestate ?? ''}`] : [];
  return [trace ? 'geofed-hop-v2' : 'geofed-hop-v1', request.method.toUpperCase(), request.target, from, nonce, timestamp, bodyHash, ...forwarded, ...traced].join('\n');
}

const hmac = (secret: string, text: string) => createHmac('sha256', secret).update(text).digest();

/** The headers a forwarding gateway sends: the client's forwarded headers, its own trace context (tracing on) and the hop's signature. */
export function signHop(secret: string, request: HopRequest, from: string, nowMs = Date.now()): Record<string, string> {
  const { trace } = request;
  if (trace && !isTraceContext(trace)) throw new TypeError('only a W3C traceparent (and tracestate) can be signed as a trace context');
  const timestamp = String(Math.floor(nowMs / 1000));
  const nonce = freshNonce();
  const headers: Record<string, string> = {};
  for (const name of signedHopHeaders) {
    const value = headerValue(request.headers, name);
    if (value !== '') headers[name] = value;
  }
  if (trace) {
    headers[traceHeaders.parent] = trace.traceparent;
    if (trace.tracestate) headers[traceHeaders.state] = trace.tracestate;
  }
  return {
    ...headers,
    [hopHeaders.from]: from,
    [hopHeaders.timestamp]: timestamp,
    [hopHeaders.nonce]: nonce,
    [hopHeaders.signature]: `${trace ? 'v2' : 'v1'}=${hmac(secret, canonical(request, from, nonce, timestamp, trace)).toString('hex')}`,
  };
}

export type HopCheck =
  | { readonly hop: false }
  | { readonly hop: true; readonly ok: true; readonly from: string; readonly nonce: string; readonly trace?: TraceContext }
  | { readonly hop: true; readonly ok: false; readonly reason: string };

/**
 * Whether a request is a hop and, if it is, whether its signature holds (the nonce is checked by the caller's
 * store). A `v2` signature covers the trace headers, which then continue the forwarding gateway's trace; a
 * `v1` one covers none.
 */
export function verifyHop(request: HopRequest, secrets: readonly string[], windowSeconds: number, nowMs = Date.now()): HopCheck {
  const present = Object.values(hopHeaders).some((name) => request.headers[name] !== undefined);
  if (!present) return { hop: false };
  const from = headerValue(request.headers, hopHeaders.from);
  const timestamp = headerValue(request.headers, hopHeaders.timestamp);
  const nonce = headerValue(request.headers, hopHeaders.nonce);
  const match = /^v([12])=([0-9a-f]{64})$/.exec(headerValue(request.headers, hopHeaders.signature));
  if (!match || !/^[0-9a-f]{32}$/.test(nonce) || !/^[a-z][a-z0-9_]*$/.test(from)) return { hop: true, ok: false, reason: 'the forwarded request is not signed by a geofed gateway' };
  const traced = { traceparent: request.headers[traceHeaders.parent], tracestate: request.headers[traceHeaders.state] };
  const trace = match[1] === '2' ? (isTraceContext(traced) ? traced : null) : undefined;
  if (trace === null) return { hop: true, ok: false, reason: 'the forwarded request is not signed by a geofed gateway' };
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(nowMs / 1000 - Number(timestamp)) > windowSeconds) {
    return { hop: true, ok: false, reason: `the forwarded request's timestamp is outside the ${windowSeconds}s window` };
  }
  const given = Buffer.from(match[2]!, 'hex');
  const text = canonical(request, from, nonce, timestamp, trace);
  const valid = secrets.some((secret) => timingSafeEqual(hmac(secret, text), given));
  if (!valid) return { hop: true, ok: false, reason: 'the forwarded request\'s signature does not match' };
  return trace ? { hop: true, ok: true, from, nonce, trace } : { hop: true, ok: true, from, nonce };
}
