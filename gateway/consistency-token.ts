import { geofedError } from './errors.js';

/** Request and response header of the read-your-writes protocol. */
export const consistencyHeader = 'geofed-consistency';

// A PostgreSQL LSN as pg_current_wal_lsn() prints it: two hex numbers of up to 32 bits.
const lsnPattern = /^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/i;

/** The client's token, checked before it goes anywhere; a malformed one is the client's error. */
export function parseConsistencyToken(value: string | string[] | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !lsnPattern.test(value)) {
    throw geofedError('BAD_REQUEST', `The ${consistencyHeader} header must be the token a write returned (like "0/16B3748"), got "${String(value).slice(0, 40)}".`);
  }
  return value.toUpperCase();
}

export function isConsistencyToken(value: string): boolean {
  return lsnPattern.test(value);
}

function lsnValue(lsn: string): bigint {
  const [high, low] = lsn.split('/');
  return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`);
}

/** The later of two tokens: a response that wrote twice returns the position that covers both. */
export function laterToken(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return lsnValue(a) >= lsnValue(b) ? a : b;
}
