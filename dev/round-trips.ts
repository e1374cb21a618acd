// The round trips between geofed's regions that the dev topology simulates (dev/delay-link.ts), in ms.
// Rough public-cloud figures; tests pass a scaled-down table of their own so that they run in seconds.

export interface RoundTripTable {
  /** Between two servers of one region. */
  readonly withinRegionMs: number;
  /** Each pair of regions once, in either order: [a, b, ms]. */
  readonly betweenRegionsMs: readonly (readonly [string, string, number])[];
}

export const ROUND_TRIPS: RoundTripTable = {
  withinRegionMs: 2,
  betweenRegionsMs: [
    ['us', 'eu', 80],
    ['us', 'apac', 220],
    ['us', 'latam', 150],
    ['eu', 'apac', 160],
    ['eu', 'latam', 200],
    ['apac', 'latam', 300],
  ],
};

/** The round trip between two regions in ms, the same both ways; a pair the table lacks is an error, never a guess. */
export function roundTripMs(from: string, to: string, table: RoundTripTable = ROUND_TRIPS): number {
  if (from === to) return table.withinRegionMs;
  const pair = table.betweenRegionsMs.find(([a, b]) => (a === from && b === to) || (a === to && b === from));
  if (!pair) throw new Error(`No round trip between ${JSON.stringify(from)} and ${JSON.stringify(to)} in the table`);
  return pair[2];
}
