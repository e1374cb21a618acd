import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { contextHeaders } from './headers.js';

/**
 * The caller context a gateway forwards to subgraphs, signed with HMAC-SHA256
 * over the method, the path, every context value, a timestamp, a nonce and
 * the SHA-256 of the body: captured headers can neither carry another query
 * nor be replayed (the subgraph remembers the nonce for the window). Step 6
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

function canonical(method: string, path: string, caller: SignedCaller, timestamp: string, nonce: string, body: string | Uint8Array): string {
  const bodyHash = createHash('sha256').update(body).digest('hex');
  return ['geofed-v2', method.toUpperCase(), path, caller.tenantId ?? '', caller.userId ?? '', caller.roles.join(','), caller.region ?? '', caller.consistency ?? '', timestamp, nonce, bodyHash].join('\n');
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

/** The headers of a signed request: the caller's context headers, the timestamp and the signature. */
export function signedHeaders(
  secret: string,
  request: { method: string; url: string; body: string | Uint8Array },
  caller: SignedCaller,
  nowMs = Date.now(),
): Record<string, string> {
  const timestamp = String(Math.floor(nowMs / 1000));
  const nonce = freshNonce();
  const path = new URL(request.url).pathname;
  return {
    ...callerHeaders(caller),
    [contextHeaders.timestamp]: timestamp,
    [contextHeaders.nonce]: nonce,
    [contextHeaders.signature]: `v2=${hmac(secret, canonical(request.method, path, caller, timestamp, nonce, request.body)).toString('hex')}`,
  };
}

export type VerifyResult = { readonly ok: true; readonly caller: SignedCaller; readonly nonce: string } | { readonly ok: false; readonly reason: string };

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
  const nonce = request.headers[contextHeaders.nonce];
  if (typeof signature !== 'string' || typeof timestamp !== 'string' || signature === '' || timestamp === '') {
    return { ok: false, reason: 'the request is not signed by a geofed gateway' };
  }
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(nowMs / 1000 - Number(timestamp)) > windowSeconds) {
    return { ok: false, reason: `the signature timestamp is outside the ${windowSeconds}s window` };
  }
  const match = /^v2=([0-9a-f]{64})$/.exec(signature);
  if (!match || typeof nonce !== 'string' || !/^[0-9a-f]{32}$/.test(nonce)) return { ok: false, reason: 'the signature is malformed' };
  const caller = callerFromHeaders(request.headers);
  // A gateway never signs a role outside the pattern: such a header was not written by one.
  if (!caller.roles.every((role) => rolePattern.test(role))) return { ok: false, reason: 'the signature is malformed' };
  const given = Buffer.from(match[1]!, 'hex');
  const text = canonical(request.method, request.path, caller, timestamp, nonce, request.body);
  const valid = secrets.some((secret) => timingSafeEqual(hmac(secret, text), given));
  return valid ? { ok: true, caller, nonce } : { ok: false, reason: 'the signature does not match' };
}
