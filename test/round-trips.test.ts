// The round-trip table of dev/: symmetric look-ups, nearest regions first, and no guesses for unknown pairs.
import { describe, expect, it } from 'vitest';
import { roundTripMs, type RoundTripTable } from '../dev/round-trips.js';

const REGIONS = ['us', 'eu', 'apac', 'latam'];

describe('roundTripMs', () => {
  it('gives every pair of regions the same round trip both ways', () => {
    const table = Object.fromEntries(REGIONS.map((from) => [from, REGIONS.map((to) => roundTripMs(from, to))]));
    expect(table).toEqual({
      us: [2, 80, 220, 150],
      eu: [80, 2, 160, 200],
      apac: [220, 160, 2, 300],
      latam: [150, 200, 300, 2],
    });
  });

  it('reads a table the caller passes', () => {
    const scaled: RoundTripTable = { withinRegionMs: 0, betweenRegionsMs: [['eu', 'us', 20]] };
    expect([roundTripMs('us', 'eu', scaled), roundTripMs('eu', 'us', scaled), roundTripMs('eu', 'eu', scaled)]).toEqual([20, 20, 0]);
  });

  it('throws for a pair the table lacks, naming it', () => {
    expect(() => roundTripMs('us', 'mars')).toThrow(new Error('No round trip between "us" and "mars" in the table'));
    const scaled: RoundTripTable = { withinRegionMs: 1, betweenRegionsMs: [['eu', 'us', 20]] };
    expect(() => roundTripMs('apac', 'eu', scaled)).toThrow(new Error('No round trip between "apac" and "eu" in the table'));
  });
});
