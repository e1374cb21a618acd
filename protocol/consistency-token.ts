import type { GraphQLResponse } from '@apollo/server';
import { ErrorCode, geofedError } from './errors.js';
import { clientHeaders } from './headers.js';

// A PostgreSQL LSN as pg_current_wal_lsn() prints it: two hex numbers of up to 32 bits.
const lsnPattern = /^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/i;

/** The client's token, checked before it goes anywhere; a malformed one is the client's error. */
export function parseConsistencyToken(value: string | string[] | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !lsnPattern.test(value)) {
    throw geofedError(ErrorCode.BAD_REQUEST, `The ${clientHeaders.consistency} header must be the token a write returned (like "0/16B3748"), got "${String(value).slice(0, 40)}".`);
  }
  return value.toUpperCase();
}

/** The token a subgraph's response carries, or undefined when it carries none (or a malformed one). */
export function responseConsistencyToken(value: string | null | undefined): string | undefined {
  return value && lsnPattern.test(value) ? value.toUpperCase() : undefined;
}

function lsnValue(lsn: string): bigint {
  const [high, low] = lsn.split('/');
  return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`);
}

/** True when `a` is at or past `b`. */
export function isAtOrPast(a: string, b: string): boolean {
  return lsnValue(a) >= lsnValue(b);
}

/** The later of two tokens: a response that wrote twice returns the position that covers both. */
export function laterToken(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return isAtOrPast(a, b) ? a : b;
}

/**
 * Read-your-writes, response side: a response whose operation wrote carries
 * the write's token in the `geofed-consistency` header and in
 * `extensions.consistency`. The catalog answers the gateway that way, and the
 * gateway its client.
 */
export function attachConsistencyToken(response: GraphQLResponse, token: string): void {
  response.http.headers.set(clientHeaders.consistency, token);
  if (response.body.kind === 'single') response.body.singleResult.extensions = { ...response.body.singleResult.extensions, consistency: token };
}
