import { startDelayLink, type DelayLink, type DelayLinkStats } from './delay-link.js';
import { roundTripMs, type RoundTripTable } from './round-trips.js';

/**
 * Distance on one machine: every connection from a component in one region
 * to a server in another (or the same) region goes through a delay link of
 * their round trip. Gateway → gateway, gateway → subgraph, subgraph →
 * catalog and catalog → primary database connections all take a link, so a
 * request crosses the ocean exactly as often as its design makes it.
 */
export interface Topology {
  readonly table: RoundTripTable;
  /** The address a component in `from` uses for `url`, served in region `to` (http or postgres URLs). */
  via(from: string, to: string, url: string): Promise<string>;
  /** Round trips counted by the links between different regions, since the last reset. */
  crossRegionRoundTrips(): number;
  /** Every link with its counters. */
  links(): { readonly from: string; readonly to: string; readonly name: string; readonly stats: DelayLinkStats }[];
  reset(): void;
  stop(): Promise<void>;
}

export function delayTopology(table: RoundTripTable): Topology {
  const links = new Map<string, { from: string; to: string; link: Promise<DelayLink> }>();
  const settled = async () => Promise.all([...links.values()].map(async (entry) => ({ ...entry, link: await entry.link })));
  let current: Awaited<ReturnType<typeof settled>> = [];
  const refresh = async () => {
    current = await settled();
  };
  return {
    table,
    async via(from, to, url) {
      const parsed = new URL(url);
      const key = `${from}>${to}>${parsed.host}`;
      let entry = links.get(key);
      if (!entry) {
        const target = { host: parsed.hostname, port: Number(parsed.port) };
        entry = { from, to, link: startDelayLink({ target, roundTripMs: roundTripMs(from, to, table), name: `${from}→${to} ${parsed.host}` }) };
        links.set(key, entry);
      }
      const link = await entry.link;
      await refresh();
      return link.url(url);
    },
    crossRegionRoundTrips: () => current.filter(({ from, to }) => from !== to).reduce((sum, { link }) => sum + link.stats().roundTrips, 0),
    links: () => current.map(({ from, to, link }) => ({ from, to, name: link.name, stats: link.stats() })),
    reset: () => current.forEach(({ link }) => link.reset()),
    async stop() {
      await Promise.allSettled([...links.values()].map(async ({ link }) => (await link).stop()));
      links.clear();
      current = [];
    },
  };
}
