import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { isAtOrPast, laterToken, parseConsistencyToken, responseConsistencyToken } from '../protocol/consistency-token.js';

function refusalOf(value: string | string[]) {
  try {
    parseConsistencyToken(value);
  } catch (error) {
    if (!(error instanceof GraphQLError)) throw error;
    return { message: error.message, code: error.extensions.code, status: (error.extensions.http as { status: number }).status };
  }
  throw new Error(`"${String(value)}" was accepted`);
}

const badRequest = (shown: string) => ({
  message: `The geofed-consistency header must be the token a write returned (like "0/16B3748"), got "${shown}".`,
  code: 'BAD_REQUEST',
  status: 400,
});

describe('parseConsistencyToken', () => {
  it('accepts an LSN as PostgreSQL prints it, upper-cased', () => {
    expect(['0/16B3748', '0/16b3748', 'FFFFFFFF/FFFFFFFF', '1/0'].map(parseConsistencyToken)).toEqual(['0/16B3748', '0/16B3748', 'FFFFFFFF/FFFFFFFF', '1/0']);
  });

  it('reads a missing or empty header as no token', () => {
    expect([parseConsistencyToken(undefined), parseConsistencyToken('')]).toEqual([undefined, undefined]);
  });

  it('refuses anything else as the client\'s error', () => {
    expect(refusalOf('16B3748')).toEqual(badRequest('16B3748'));
    expect(refusalOf('0/123456789')).toEqual(badRequest('0/123456789'));
    expect(refusalOf('G/1')).toEqual(badRequest('G/1'));
    expect(refusalOf(' 0/1')).toEqual(badRequest(' 0/1'));
    expect(refusalOf('0/1/2')).toEqual(badRequest('0/1/2'));
    // A header sent twice arrives as a list.
    expect(refusalOf(['0/1', '0/2'])).toEqual(badRequest('0/1,0/2'));
    // The echo is cut, so a huge header is not reflected whole.
    expect(refusalOf('x'.repeat(100))).toEqual(badRequest('x'.repeat(40)));
  });
});

describe('responseConsistencyToken', () => {
  it('takes a well-formed token and ignores anything else', () => {
    expect(['0/a1', '0/A1', '', null, undefined, 'nope', '0/'].map(responseConsistencyToken)).toEqual(['0/A1', '0/A1', undefined, undefined, undefined, undefined, undefined]);
  });
});

describe('isAtOrPast and laterToken', () => {
  // Pairs [earlier, later] where the text order of the strings says the opposite or nothing useful.
  const ordered: [string, string][] = [
    ['0/FFFFFFFF', '1/0'],
    ['9/FFFFFFFF', 'A/1'],
    ['FF/0', '1FF/0'],
    ['0/9', '0/10'],
    ['0/16B3748', '0/16B3749'],
  ];

  it('compares positions as numbers, whatever the length of either half', () => {
    expect(ordered.map(([earlier, later]) => [isAtOrPast(later, earlier), isAtOrPast(earlier, later)])).toEqual(ordered.map(() => [true, false]));
  });

  it('counts a position as at itself, however it is spelled', () => {
    expect([isAtOrPast('0/16B3748', '0/16B3748'), isAtOrPast('0/016B3748', '0/16B3748'), isAtOrPast('00/1', '0/1')]).toEqual([true, true, true]);
  });

  it('returns the later of two tokens in either order', () => {
    expect(ordered.map(([earlier, later]) => [laterToken(earlier, later), laterToken(later, earlier)])).toEqual(ordered.map(([, later]) => [later, later]));
  });

  it('returns the one token when the other is missing', () => {
    expect([laterToken(undefined, '0/1'), laterToken('0/1', undefined), laterToken(undefined, undefined)]).toEqual(['0/1', '0/1', undefined]);
  });
});
