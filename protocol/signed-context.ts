import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { contextHeaders, traceHeaders } from './headers.js';

/**
 * The caller context a gateway forwards to subgraphs, signed with HMAC-SHA256
 * over the method, the path, every context value, a timestamp, a nonce and
 * the SHA-256 of the body: captured headers can neither carry another query
 * nor be replayed (the subgraph remembers the nonce for the window). A
 * request that carries the gateway's trace context signs it too (`v3`), so a
 * subgraph continues only a trace a gateway vouched for. Step 6
 * of a request (README, "How a request is served"); next, the subgraph's
 * server verifies them before it reads the body
 * (subgraphs/shared/subgraph-server.ts, step 7).
 */
export interface SignedCaller {
  readonly tenantId?: string;
  readonly userId?: string;
  readonly roles: readonly string[];
  /** The tenant's home region, from the gateway's tenants directory. */
  readonly region?: string;
  /** The client's read-your-writes token (a primary WAL LSN), for the catalog's read routing. */
  readonly consistency?: string;
}

/**
 * The W3C trace context a signed request carries (`traceparent`,
 * `tracestate`): the span of the gateway's fetch, which the subgraph's spans
 * continue.
 */
export interface TraceContext {
  readonly traceparent: string;
  readonly tracestate?: string;
}

/** A version-00 `traceparent`: version, trace id, parent span id, flags. */
const traceparentPattern = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
/** A `tracestate` as W3C bounds it: up to 32 list members of printable ASCII, 512 characters in all. */
const tracestatePattern = /^[\x20-\x7E]{0,512}$/;

/** Whether a trace context can travel in headers and be signed as it is (no CR/LF, no line break in the canonical text). */
export function isTraceContext(trace: { traceparent?: unknown; tracestate?: unknown }): trace is TraceContext {
  return typeof trace.traceparent === 'string' && traceparentPattern.test(trace.traceparent) && (trace.tracestate === undefined || (typeof trace.tracestate === 'string' && tracestatePattern.test(trace.tracestate)));
}

/** An anonymous or system caller (directory lookups, probes): no tenant, no roles. */
export const systemCaller: SignedCaller = { roles: [] };

/**
 * What a tenant id, a user id or a region may hold to travel in a header:
 * visible characters of Latin-1, no control characters (so no CR/LF), no
 * leading or trailing space, at most 255 of them.
 */
export const headerSafeValue = /^[\x21-\x7E\xA1-\xFF](?:[\x20-\x7E\xA0-\xFF]{0,253}[\x21-\x7E\xA1-\xFF])?$/;

/**
 * What a role may hold: letters, digits and `_ . : -`. Roles travel joined by
 * commas, and no role can hold one, so a role can neither merge with another
 * nor split into two (`viewer,admin` is refused, never read as admin).
 */
export const rolePattern = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * The context headers of a caller: the one place the caller becomes headers.
 * A value that could not travel intact (a role with a comma, an id with CR/LF)
 * is a bug of the caller's checks, never something to encode.
 */
export function callerHeaders(caller: SignedCaller): Record<string, string> {
  const unsafe = [caller.tenantId, caller.userId, caller.region].some((value) => value !== undefined && !headerSafeValue.test(value)) || caller.roles.some((role) => !rolePattern.test(role));
  if (unsafe) throw new TypeError('a caller value cannot travel in a signed header: check token claims where they enter');
  const headers: Record<string, string> = {};
  if (caller.tenantId !== undefined) headers[contextHeaders.tenant] = caller.tenantId;
  if (caller.userId !== undefined) headers[contextHeaders.user] = caller.userId;
  if (caller.roles.length > 0) headers[contextHeaders.roles] = caller.roles.join(',');
  if (caller.region !== undefined) headers[contextHeaders.region] = caller.region;
  if (caller.consistency !== undefined) headers[contextHeaders.consistency] = caller.consistency;
  return headers;
}

/** The caller that context headers carry: the one place headers become a caller (absent and empty are the same). */
export function callerFromHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): SignedCaller {
  const header = (name: string) => {
    const value = headers[name];
    return typeof value === 'string' && value.length > 0 ? value : undefined;
  };
  const roles = header(contextHeaders.roles);
  return {
    tenantId: header(contextHeaders.tenant),
    userId: header(contextHeaders.user),
    roles: roles ? roles.split(',') : [],
    region: header(contextHeaders.region),
    consistency: header(contextHeaders.consistency),
  };
}

/** The signed text: `v2` without a trace context, `v3` with one (its two headers are the last lines). */
function canonical(method: string, path: string, caller: SignedCaller, timestamp: string, nonce: string, body: string | Uint8Array, trace: TraceContext | undefined): string {
  const bodyHash = createHash('sha256').update(body).digest('hex');
  const lines = [trace ? 'geofed-v3' : 'geofed-v2', method.toUpperCase(), path, caller.tenantId ?? '', caller.userId ?? '', caller.roles.join(','), caller.region ?? '', caller.consistency ?? '', timestamp, nonce, bodyHash];
  if (trace) lines.push(trace.traceparent, trace.tracestate ?? '');
  return lines.join('\n');
}

function hmac(secret: string, text: string): Buffer {
  return createHmac('sha256', secret).update(text).digest();
}

/**
 * 122 random bits as 32 hex digits, never used twice within a signature window. From randomUUID, which draws
 * its randomness in batches: a fetch's signing no longer pays a system call of its own for 16 bytes.
 */
export function freshNonce(): string {
  return randomUUID().replaceAll('-', '');
}

/**
 * The headers of a signed request: the caller's context headers, the trace
 * context when the request has one (tracing on), the timestamp and the signature.
 */
export function signedHeaders(
  secret: string,
  request: { method: string; url: string; body: string | Uint8Array; trace?: TraceContext },
  caller: SignedCaller,
  nowMs = Date.now(),
): Record<string, string> {
  const { trace } = request;
  if (trace && !isTraceContext(trace)) throw new TypeError('only a W3C traceparent (and tracestate) can be signed as a trace context');
  const timestamp = String(Math.floor(nowMs / 1000));
  const nonce = freshNonce();
  const path = new URL(request.url).pathname;
  const signature = hmac(secret, canonical(request.method, path, caller, timestamp, nonce, request.body, trace)).toString('hex');
  return {
    ...callerHeaders(caller),
    ...(trace ? { [traceHeaders.parent]: trace.traceparent, ...(trace.tracestate ? { [traceHeaders.state]: trace.tracestate } : {}) } : {}),
    [contextHeaders.timestamp]: timestamp,
    [contextHeaders.nonce]: nonce,
    [contextHeaders.signature]: `${trace ? 'v3' : 'v2'}=${signature}`,
  };
}

/** A verified request: its caller, its nonce, and the trace context it signed (only a `v3` signature vouches for one). */
export type VerifyResult = { readonly ok: true; readonly caller: SignedCaller; readonly nonce: string; readonly trace?: TraceContext } | { readonly ok: false; readonly reason: string };

export interface VerifyOptions {
  readonly secrets: readonly string[];
  readonly windowSeconds: number;
  readonly nowMs?: number;
}

/**
 * Verifies a request a subgraph received; only a valid signature yields a
 * caller. A `v2` signature covers no trace context: a `traceparent` beside it
 * was not written by a gateway and is never continued. A `v3` one covers
 * both trace headers: one changed on the way fails the signature as any other
 * header would.
 */
export function verifySignedRequest(
  request: { method: string; path: string; headers: Readonly<Record<string, string | string[] | undefined>>; body: string | Uint8Array },
  { secrets, windowSeconds, nowMs = Date.now() }: VerifyOptions,
): VerifyResult {
  const signature = request.headers[contextHeaders.signature];
  const timestamp = request.headers[contextHeaders.timestamp];
  const nonce = request.headers[contextHeaders.nonce];
  if (typeof signature !== 'string' || typeof timestamp !== 'string' || signature === '' || timestamp === '') {
    return { ok: false, reason: 'the request is not signed by a geofed gateway' };
  }
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(nowMs / 1000 - Number(timestamp)) > windowSeconds) {
    return { ok: false, reason: `the signature timestamp is outside the ${windowSeconds}s window` };
  }
  const match = /^v([23])=([0-9a-f]{64})$/.exec(signature);
  if (!match || typeof nonce !== 'string' || !/^[0-9a-f]{32}$/.test(nonce)) return { ok: false, reason: 'the signature is malformed' };
  const caller = callerFromHeaders(request.headers);
  // A gateway never signs a role outside the pattern: such a header was not written by one.
  if (!caller.roles.every((role) => rolePattern.test(role))) return { ok: false, reason: 'the signature is malformed' };
  const traced = { traceparent: request.headers[traceHeaders.parent], tracestate: request.headers[traceHeaders.state] };
  const trace = match[1] === '3' ? (isTraceContext(traced) ? traced : null) : undefined;
  if (trace === null) return { ok: false, reason: 'the signature is malformed' };
  const given = Buffer.from(match[2]!, 'hex');
  const text = canonical(request.method, request.path, caller, timestamp, nonce, request.body, trace);
  const valid = secrets.some((secret) => timingSafeEqual(hmac(secret, text), given));
  if (!valid) return { ok: false, reason: 'the signature does not match' };
  return trace ? { ok: true, caller, nonce, trace: { traceparent: trace.traceparent, ...(trace.tracestate !== undefined ? { tracestate: trace.tracestate } : {}) } } : { ok: true, caller, nonce };
}
