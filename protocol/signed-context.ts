import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { contextHeaders } from './headers.js';

/**
 * The caller context a gateway forwards to subgraphs, signed with HMAC-SHA256
 * over the method, the path, every context value, a timestamp and the SHA-256
 * of the body: captured headers can neither be replayed later nor carry
 * another query.
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

/** An anonymous or system caller (directory lookups, probes): no tenant, no roles. */
export const systemCaller: SignedCaller = { roles: [] };

/** The context headers of a caller: the one place the caller becomes headers. */
export function callerHeaders(caller: SignedCaller): Record<string, string> {
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

function canonical(method: string, path: string, caller: SignedCaller, timestamp: string, body: string | Uint8Array): string {
  const bodyHash = createHash('sha256').update(body).digest('hex');
  return ['geofed-v1', method.toUpperCase(), path, caller.tenantId ?? '', caller.userId ?? '', caller.roles.join(','), caller.region ?? '', caller.consistency ?? '', timestamp, bodyHash].join('\n');
}

function hmac(secret: string, text: string): Buffer {
  return createHmac('sha256', secret).update(text).digest();
}

/** The headers of a signed request: the caller's context headers, the timestamp and the signature. */
export function signedHeaders(
  secret: string,
  request: { method: string; url: string; body: string | Uint8Array },
  caller: SignedCaller,
  nowMs = Date.now(),
): Record<string, string> {
  const timestamp = String(Math.floor(nowMs / 1000));
  const path = new URL(request.url).pathname;
  return {
    ...callerHeaders(caller),
    [contextHeaders.timestamp]: timestamp,
    [contextHeaders.signature]: `v1=${hmac(secret, canonical(request.method, path, caller, timestamp, request.body)).toString('hex')}`,
  };
}

export type VerifyResult = { readonly ok: true; readonly caller: SignedCaller } | { readonly ok: false; readonly reason: string };

export interface VerifyOptions {
  readonly secrets: readonly string[];
  readonly windowSeconds: number;
  readonly nowMs?: number;
}

/** Verifies a request a subgraph received; only a valid signature yields a caller. */
export function verifySignedRequest(
  request: { method: string; path: string; headers: Readonly<Record<string, string | string[] | undefined>>; body: string | Uint8Array },
  { secrets, windowSeconds, nowMs = Date.now() }: VerifyOptions,
): VerifyResult {
  const signature = request.headers[contextHeaders.signature];
  const timestamp = request.headers[contextHeaders.timestamp];
  if (typeof signature !== 'string' || typeof timestamp !== 'string' || signature === '' || timestamp === '') {
    return { ok: false, reason: 'the request is not signed by a geofed gateway' };
  }
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(nowMs / 1000 - Number(timestamp)) > windowSeconds) {
    return { ok: false, reason: `the signature timestamp is outside the ${windowSeconds}s window` };
  }
  const match = /^v1=([0-9a-f]{64})$/.exec(signature);
  if (!match) return { ok: false, reason: 'the signature is malformed' };
  const caller = callerFromHeaders(request.headers);
  const given = Buffer.from(match[1]!, 'hex');
  const text = canonical(request.method, request.path, caller, timestamp, request.body);
  const valid = secrets.some((secret) => timingSafeEqual(hmac(secret, text), given));
  return valid ? { ok: true, caller } : { ok: false, reason: 'the signature does not match' };
}
