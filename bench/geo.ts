import { execFileSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { request } from 'undici';
import { startDelayLink, type DelayLink } from '../dev/delay-link.js';
import { startReplicaCluster, type ReplicaCluster } from '../dev/replica-cluster.js';
import { ROUND_TRIPS, roundTripMs } from '../dev/round-trips.js';
import { delayTopology, type Topology } from '../dev/topology.js';
import type { GeofedConfig } from '../gateway/config.js';
import { gatewayEnv } from '../gateway/env.js';
import { startGateway, type RunningGateway } from '../gateway/gateway.js';
import { clientHeaders } from '../protocol/headers.js';
import { setLogLevels } from '../runtime/logger.js';
import { devToken, startTestStack, type TestStack } from '../test/fixtures/stack.js';
import { percentile, report } from './report.js';
import { groupedBarChart } from './svg-chart.js';

// Distance, on the seed's round-trip table (dev/round-trips.ts: 2 ms within a region, us–eu 80, us–apac 220,
// us–latam 150, eu–apac 160, eu–latam 200, apac–latam 300): a gateway per region, every connection through a
// delay link, each region's catalog on its own streaming replica of a real PostgreSQL cluster. Sequential
// requests from one client, a warm-up excluded, the median and p95 of each path, and the round trips the
// links counted beside them.
//   1. an anonymous catalog read from each region, through its own gateway vs through the US gateway only;
//   2. an EU tenant's `me { orders { items { product } } }` from EU, US and APAC clients, forward vs fetch;
//   3. the local catalog down (global failover), and a write in US read back in APAC with its consistency token.
// `npm run bench -- --only geo [--requests 200 --warmup 20 --rounds 10]`
const { values } = parseArgs({ allowPositionals: true, strict: false, options: { requests: { type: 'string', default: '200' }, warmup: { type: 'string', default: '20' }, rounds: { type: 'string', default: '10' } } });
const requests = Number(values.requests);
const warmup = Number(values.warmup);
const rounds = Math.max(1, Math.min(Number(values.rounds), requests));

const regions = ['us', 'eu', 'apac', 'latam'] as const;
const primaryRegion = 'us';
const catalogRead = '{ products(first: 5) { name priceCents } }';
const meQuery = '{ me { orders { items { product { name } } } } }';
const benchProduct = 'prd_geo_bench';
/** Gateway time a local global read may add to its round trips (the target). */
const gatewayAllowanceMs = 2;
/** How long a catalog read with a token waits for its replica before reading the primary. */
const consistencyWaitMs = 100;
const env: NodeJS.ProcessEnv = {
  LOG_LEVEL: 'warn',
  GEOFED_AUDIT_LOG: 'silent',
  // Background replica checks would cross the ocean on their own and blur the counts.
  // A day: the run takes over ten minutes, and a check every ten would open cross-region connections mid-run.
  GEOFED_REPLICA_HEALTH_CHECK_INTERVAL_MS: String(86_400_000),
  // The default, set here so that the tables can name it.
  GEOFED_REPLICA_CONSISTENCY_WAIT_MS: String(consistencyWaitMs),
};
setLogLevels({ log: 'warn', audit: 'silent' });

let step = 0;
const progress = (line: string) => console.log(`[geo ${String((step += 1)).padStart(2)}] ${line}`);

// ---------------------------------------------------------------------------------------------------------
// Sampling: every request timed on its own, with the round trips each link counted while it ran.

interface Exchange { readonly status: number; readonly text: string; readonly headers: Record<string, string | string[] | undefined> }
interface Sample { readonly ms: number; readonly linkTrips: ReadonlyMap<string, number>; readonly headers: Exchange['headers'] }

interface LinkShare { readonly link: string; readonly rttMs: number; readonly roundTripsPerRequest: number; readonly crossRegion: boolean }
interface Summary {
  readonly label: string;
  readonly requests: number;
  readonly medianMs: number;
  readonly p95Ms: number;
  readonly meanMs: number;
  /** Round trips counted by links between different regions, per request. */
  readonly crossings: {
    readonly min: number;
    readonly max: number;
    readonly mean: number;
    /** How many requests crossed how many times, e.g. { "1": 200 }. */
    readonly distribution: Readonly<Record<string, number>>;
    /** Requests whose count differs from the most common one, with the cross-region links that counted them. */
    readonly outliers: readonly { readonly request: number; readonly crossings: number; readonly links: Readonly<Record<string, number>> }[];
  };
  /** Σ round trips × nominal RTT per request: the time on the wire if nothing else took any. */
  readonly floorMs: { readonly crossRegion: number; readonly withinRegion: number; readonly total: number };
  /** Round trips per request that the links counted (each link's mean), nominal RTT beside. */
  readonly links: readonly LinkShare[];
  /** How often each value of the geofed response headers was seen. */
  readonly headers: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** The SQL statements (as Drizzle sends them, without BEGIN/COMMIT) of one more request of the same path, by database. */
  readonly sqlOfOneRequest?: Readonly<Record<string, readonly string[]>>;
}

async function post(url: string, query: string, headers: Record<string, string> = {}): Promise<Exchange> {
  const response = await request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query }) });
  const text = await response.body.text();
  return { status: response.statusCode, text, headers: response.headers };
}

function expectData(what: string, exchange: Exchange): Record<string, unknown> {
  const body = JSON.parse(exchange.text) as { data?: Record<string, unknown> | null; errors?: unknown[] };
  if (exchange.status !== 200 || body.errors !== undefined || !body.data) throw new Error(`${what}: unexpected answer ${exchange.status}: ${exchange.text.slice(0, 300)}`);
  return body.data;
}

const header = (headers: Exchange['headers'], name: string) => {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
};

function linkTrips(topology: Topology): Map<string, number> {
  return new Map(topology.links().map((l) => [l.name, l.stats.roundTrips]));
}

async function timed(topology: Topology, run: () => Promise<Exchange>): Promise<Sample & { readonly exchange: Exchange }> {
  const before = linkTrips(topology);
  const started = process.hrtime.bigint();
  const exchange = await run();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const after = linkTrips(topology);
  const trips = new Map<string, number>();
  for (const [name, count] of after) {
    const delta = count - (before.get(name) ?? 0);
    if (delta > 0) trips.set(name, delta);
  }
  return { ms, linkTrips: trips, headers: exchange.headers, exchange };
}

const watchedHeaders = [clientHeaders.gatewayRegion, clientHeaders.homeRegion, clientHeaders.dataRegion, clientHeaders.globalRegion];

interface LinkInfo { readonly from: string; readonly to: string; readonly role: string; readonly rttMs: number }

function summarize(label: string, samples: readonly Sample[], linkInfo: (name: string) => LinkInfo): Summary {
  const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
  const perLink = new Map<string, number>();
  const crossings: number[] = [];
  const crossedLinks: Record<string, number>[] = [];
  for (const sample of samples) {
    let crossed = 0;
    const byLink: Record<string, number> = {};
    for (const [name, count] of sample.linkTrips) {
      perLink.set(name, (perLink.get(name) ?? 0) + count);
      const info = linkInfo(name);
      if (info.from !== info.to) {
        crossed += count;
        byLink[`${info.from}→${info.to} ${info.role}`] = count;
      }
    }
    crossings.push(crossed);
    crossedLinks.push(byLink);
  }
  const distribution: Record<string, number> = {};
  for (const n of crossings) distribution[n] = (distribution[n] ?? 0) + 1;
  const mode = Number(Object.entries(distribution).sort((a, b) => b[1] - a[1])[0]![0]);
  const outliers = crossings.flatMap((n, i) => (n === mode ? [] : [{ request: i, crossings: n, links: crossedLinks[i]! }]));
  const links = [...perLink].map(([name, total]) => {
    const info = linkInfo(name);
    return { link: `${info.from}→${info.to} ${info.role}`, rttMs: info.rttMs, roundTripsPerRequest: total / samples.length, crossRegion: info.from !== info.to };
  });
  const floor = (cross: boolean) => links.filter((l) => l.crossRegion === cross).reduce((sum, l) => sum + l.roundTripsPerRequest * l.rttMs, 0);
  const headers: Record<string, Record<string, number>> = {};
  for (const name of watchedHeaders) {
    const counts: Record<string, number> = {};
    for (const sample of samples) {
      const value = header(sample.headers, name) ?? '(absent)';
      counts[value] = (counts[value] ?? 0) + 1;
    }
    headers[name] = counts;
  }
  return {
    label,
    requests: samples.length,
    medianMs: percentile(sorted, 0.5),
    p95Ms: percentile(sorted, 0.95),
    meanMs: sorted.reduce((a, b) => a + b, 0) / sorted.length,
    crossings: { min: Math.min(...crossings), max: Math.max(...crossings), mean: crossings.reduce((a, b) => a + b, 0) / crossings.length, distribution, outliers },
    floorMs: { crossRegion: floor(true), withinRegion: floor(false), total: floor(true) + floor(false) },
    links: links.sort((a, b) => b.rttMs * b.roundTripsPerRequest - a.rttMs * a.roundTripsPerRequest),
    headers,
  };
}

interface Path { readonly label: string; readonly run: () => Promise<Exchange>; readonly check: (exchange: Exchange) => void }

/**
 * `warmup` requests of each path, then `requests` timed ones of each, one at a time, interleaved in `rounds`
 * rounds (every path's share of a round in turn), so that drift on a shared machine hits every path alike.
 */
async function measure(topology: Topology, linkInfo: (name: string) => LinkInfo, paths: readonly Path[], afterEach: () => void = () => {}): Promise<Summary[]> {
  for (const path of paths) for (let i = 0; i < warmup; i += 1) path.check(await path.run());
  const samples = paths.map((): Sample[] => []);
  for (let round = 0; round < rounds; round += 1) {
    const share = Math.floor(requests / rounds) + (round < requests % rounds ? 1 : 0);
    for (const [index, path] of paths.entries()) {
      for (let i = 0; i < share; i += 1) {
        const sample = await timed(topology, path.run);
        path.check(sample.exchange);
        samples[index]!.push(sample);
        afterEach();
      }
    }
  }
  return paths.map((path, index) => summarize(path.label, samples[index]!, linkInfo));
}

// ---------------------------------------------------------------------------------------------------------
// The delay link's own cost: a round trip of N ms through a link, minus the same exchange without it.

interface Calibration { readonly nominalMs: number; readonly directMedianMs: number; readonly throughLinkMedianMs: number; readonly realizedRoundTripMs: number; readonly overheadMs: number }

async function calibrate(roundTrip: number): Promise<Calibration> {
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('{"data":{}}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const link = await startDelayLink({ target: { host: '127.0.0.1', port }, roundTripMs: roundTrip, name: `calibration ${roundTrip} ms` });
  try {
    const sample = async (url: string) => {
      const times: number[] = [];
      for (let i = 0; i < warmup + requests; i += 1) {
        const started = process.hrtime.bigint();
        const response = await request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ x }"}' });
        await response.body.text();
        if (i >= warmup) times.push(Number(process.hrtime.bigint() - started) / 1e6);
      }
      return percentile(times.sort((a, b) => a - b), 0.5);
    };
    const direct = await sample(`http://127.0.0.1:${port}/`);
    const through = await sample(link.url(`http://127.0.0.1:${port}/`));
    return { nominalMs: roundTrip, directMedianMs: direct, throughLinkMedianMs: through, realizedRoundTripMs: through - direct, overheadMs: through - direct - roundTrip };
  } finally {
    await link.stop();
    await new Promise((resolve) => server.close(resolve));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Replication at a distance: the cluster streams WAL over loopback; this routes each replica's
// walreceiver through a link of its region's round trip to the primary (outside the topology, so
// that its background traffic never shows in a request's counts).

async function replicationThroughLinks(cluster: ReplicaCluster): Promise<DelayLink[]> {
  const started: DelayLink[] = [];
  for (const region of regions) {
    const link = await startDelayLink({ target: { host: '127.0.0.1', port: cluster.primary.port }, roundTripMs: roundTripMs(primaryRegion, region, ROUND_TRIPS), name: `replication ${primaryRegion}→${region}` });
    started.push(link);
    const sql = postgres(cluster.replicas[region]!.url('postgres'), { max: 1, onnotice: () => {} });
    try {
      await sql.unsafe(`alter system set primary_conninfo = 'host=127.0.0.1 port=${link.port} user=postgres application_name=${region}'`);
      await sql`select pg_reload_conf()`;
      for (const deadline = Date.now() + 20_000; ; ) {
        const [row] = await sql<{ port: number | null; status: string | null }[]>`select sender_port as port, status from pg_stat_wal_receiver`;
        if (row?.port === link.port && row.status === 'streaming') break;
        if (Date.now() > deadline) throw new Error(`replica ${region}: its walreceiver did not reconnect through ${link.name} (now ${JSON.stringify(row ?? null)})`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      await sql.end();
    }
  }
  await cluster.waitForReplay();
  return started;
}

/** geofed_catalog_reads_total of one catalog instance, by `target/reason`. */
async function catalogReads(t: TestStack, region: string): Promise<Map<string, number>> {
  const response = await request(t.stack.subgraph('catalog', region).url.replace(/\/graphql$/, '/metrics'));
  const text = await response.body.text();
  const counts = new Map<string, number>();
  for (const match of text.matchAll(/^geofed_catalog_reads_total\{target="([^"]+)",reason="([^"]+)"\} (\d+)/gm)) counts.set(`${match[1]}: ${match[2]}`, Number(match[3]));
  return counts;
}

const readsBetween = (before: Map<string, number>, after: Map<string, number>) =>
  Object.fromEntries([...after].map(([key, n]) => [key, n - (before.get(key) ?? 0)]).filter(([, n]) => (n as number) > 0));

/** The commit measured, and whether files outside bench/ differed from it. */
function revision(): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const changed = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.slice(3).startsWith('bench/'));
    return changed.length === 0 ? `commit ${commit}` : `commit ${commit} with uncommitted changes to ${changed.map((l) => l.slice(3)).join(', ')}`;
  } catch {
    return 'unknown (no git)';
  }
}

// ---------------------------------------------------------------------------------------------------------

const ms = (n: number) => n.toFixed(1);
const trips = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));
const crossingText = (s: Summary) =>
  s.crossings.min === s.crossings.max
    ? String(s.crossings.min)
    : Object.entries(s.crossings.distribution)
        .map(([n, count]) => `${n} (×${count})`)
        .join(', ');
const servedBy = (s: Summary, name: string) =>
  Object.entries(s.headers[name] ?? {})
    .map(([value, n]) => (n === s.requests ? value : `${value} ×${n}`))
    .join(', ');
const linkList = (s: Summary, crossRegion: boolean) =>
  s.links
    .filter((l) => l.crossRegion === crossRegion)
    .map((l) => `${trips(l.roundTripsPerRequest)}×${l.rttMs} ${l.link}`)
    .join(' + ') || '—';

const cluster = await (async () => {
  progress(`starting a PostgreSQL primary and a streaming replica per region (${regions.join(', ')}) for the catalog`);
  return startReplicaCluster(regions);
})();
const cleanups: (() => Promise<void>)[] = [() => cluster.stop()];
let failed = false;
try {
  await cluster.createDatabase('geofed_catalog');
  const topology = delayTopology(ROUND_TRIPS);
  cleanups.unshift(() => topology.stop());
  progress('starting every subgraph of every region and a gateway per region (forward), every connection through a delay link of the seed table');
  // Budgets large enough never to refuse: the load measures the path, never the limiter.
  const bigBuckets = { capacity: 1e12, refillPerSecond: 1e9, regions: {} };
  const t = await startTestStack('postgres', {
    gateways: 'per-region',
    topology: { links: topology, primaryRegion },
    catalog: { primary: cluster.primary.url('geofed_catalog'), replicas: Object.fromEntries(regions.map((r) => [r, cluster.replicas[r]!.url('geofed_catalog')])) },
    env,
    configure: (config) => ({
      ...config,
      rateLimits: {
        ...config.rateLimits,
        billingPlans: Object.fromEntries(Object.keys(config.rateLimits.billingPlans).map((billingPlan) => [billingPlan, bigBuckets])),
        anonymous: { ...config.rateLimits.anonymous, capacity: 1e12, refillPerSecond: 1e9 },
      },
    }),
  });
  cleanups.unshift(() => t.stop());
  await cluster.waitForReplay();
  const stackStarted = Date.now();

  // A second gateway per client region in fetch mode, over the same links as that region's own gateway.
  progress('starting a second gateway in eu, us and apac with routing.remote_execution: fetch');
  const fetchGateways = new Map<string, RunningGateway>();
  for (const region of ['eu', 'us', 'apac']) {
    const served: GeofedConfig = {
      ...t.stack.config,
      gateway: { ...t.stack.config.gateway, region, port: 0 },
      routing: { ...t.stack.config.routing, remoteExecution: 'fetch' },
      subgraphs: await Promise.all(
        t.stack.config.subgraphs.map(async (s) => ({ ...s, urls: Object.fromEntries(await Promise.all(regions.map(async (r) => [r, await topology.via(region, r, t.stack.subgraph(s.name, r).url)] as const))) })),
      ),
    };
    const gateway = await startGateway({ config: served, env: gatewayEnv(env), port: 0 });
    fetchGateways.set(region, gateway);
    cleanups.unshift(() => gateway.stop());
  }
  const fetchClientUrl = async (clientRegion: string) => `${await topology.via(clientRegion, clientRegion, fetchGateways.get(clientRegion)!.url)}/graphql`;
  const clientUrl = async (clientRegion: string, gatewayRegion: string) => `${await t.stack.clientUrl(clientRegion, gatewayRegion)}/graphql`;
  // Every URL a client uses is made now, so that every link exists before the first count.
  const urls = {
    local: Object.fromEntries(await Promise.all(regions.map(async (r) => [r, await clientUrl(r, r)] as const))),
    viaUs: Object.fromEntries(await Promise.all(regions.map(async (r) => [r, await clientUrl(r, 'us')] as const))),
    fetch: Object.fromEntries(await Promise.all(['eu', 'us', 'apac'].map(async (r) => [r, await fetchClientUrl(r)] as const))),
  };

  // What each link leads to, by the port in its name.
  const roles = new Map<number, string>();
  const portOf = (url: string) => Number(new URL(url).port);
  for (const [region, gateway] of t.stack.gateways) roles.set(portOf(gateway.url), `gateway ${region}`);
  for (const [region, gateway] of fetchGateways) roles.set(portOf(gateway.url), `fetch-mode gateway ${region}`);
  for (const s of t.stack.config.subgraphs) for (const r of regions) roles.set(portOf(t.stack.subgraph(s.name, r).url), `${s.name}@${r}`);
  roles.set(cluster.primary.port, 'catalog primary (PostgreSQL)');
  for (const r of regions) roles.set(cluster.replicas[r]!.port, `catalog replica ${r} (PostgreSQL)`);
  const linkInfo = (name: string): LinkInfo => {
    const found = topology.links().find((l) => l.name === name);
    if (!found) throw new Error(`no link named ${name}`);
    const port = Number(name.slice(name.lastIndexOf(':') + 1));
    return { from: found.from, to: found.to, role: roles.get(port) ?? `regional database ${found.to} (PostgreSQL)`, rttMs: roundTripMs(found.from, found.to, ROUND_TRIPS) };
  };
  const run = async (what: string, paths: readonly Path[]): Promise<Summary[]> => {
    progress(`measuring ${what}: ${paths.length} paths, ${warmup} warm-up + ${requests} requests each, interleaved in ${rounds} rounds`);
    // The stack logs every statement into one growing list: emptied between requests, outside their time.
    const summaries = await measure(topology, linkInfo, paths, () => t.clearQueries());
    const withSql: Summary[] = [];
    // One at a time: the stack's statement log is shared.
    for (const [index, summary] of summaries.entries()) {
      t.clearQueries();
      paths[index]!.check(await paths[index]!.run());
      withSql.push({ ...summary, sqlOfOneRequest: Object.fromEntries(t.queries) });
      t.clearQueries();
    }
    return withSql;
  };
  const expectHeader = (what: string, e: Exchange, name: string, value: string) => {
    if (header(e.headers, name) !== value) throw new Error(`${what}: ${name} is ${header(e.headers, name)}, expected ${value}`);
  };

  // --- 0. the links' own cost -----------------------------------------------------------------------
  // Every round trip the measured paths take (the latam–apac/eu pairs are never crossed here).
  const calibrated = [ROUND_TRIPS.withinRegionMs, 80, 150, 160, 220];
  progress(`measuring the delay links' own cost: links of ${calibrated.join(', ')} ms against a bare HTTP server (${warmup} warm-up + ${requests} requests each)`);
  const calibrations: Calibration[] = [];
  for (const rtt of calibrated) calibrations.push(await calibrate(rtt));
  const overheadOf = (rtt: number) => [...calibrations].sort((a, b) => Math.abs(a.nominalMs - rtt) - Math.abs(b.nominalMs - rtt))[0]!.overheadMs;
  const linkOverhead = (s: Summary) => s.links.reduce((sum, l) => sum + l.roundTripsPerRequest * overheadOf(l.rttMs), 0);

  // Every database pool opened one connection at start (openDatabase's `select 1`), and closes it after 30 s idle
  // (idle_timeout in subgraphs/shared/db.ts): a close is a message on its link, which would count as a round
  // trip of whatever request runs then. The calibration usually outlasts them; a short run waits.
  const quiet = stackStarted + 32_000 - Date.now();
  if (quiet > 0) {
    progress(`waiting ${(quiet / 1000).toFixed(0)} s for the start-up database connections to reach their idle timeout`);
    await new Promise((resolve) => setTimeout(resolve, quiet));
  }

  // --- 1. anonymous catalog read, local gateway vs US gateway only ----------------------------------
  const anonymous: Record<string, { local: Summary; viaUs: Summary }> = {};
  {
    const check = (gateway: string) => (e: Exchange) => {
      expectData('catalog read', e);
      expectHeader('catalog read', e, clientHeaders.gatewayRegion, gateway);
      expectHeader('catalog read', e, clientHeaders.globalRegion, gateway);
    };
    // From us, "the US gateway only" is the same path: measured once.
    const paths: Path[] = regions.flatMap((region) => [
      { label: `anonymous catalog read, client ${region} → gateway ${region}`, run: () => post(urls.local[region]!, catalogRead), check: check(region) },
      ...(region === 'us' ? [] : [{ label: `anonymous catalog read, client ${region} → gateway us`, run: () => post(urls.viaUs[region]!, catalogRead), check: check('us') }]),
    ]);
    const summaries = await run('the anonymous catalog read from each region, at its own gateway and at the US gateway', paths);
    const of = (label: string) => summaries.find((s) => s.label === label)!;
    for (const region of regions) {
      const local = of(`anonymous catalog read, client ${region} → gateway ${region}`);
      anonymous[region] = { local, viaUs: region === 'us' ? local : of(`anonymous catalog read, client ${region} → gateway us`) };
    }
  }

  // --- 2. an EU tenant's PII read, forward vs fetch --------------------------------------------------
  const acme = await devToken('acme', 'usr_acme_1');
  const auth = { authorization: `Bearer ${acme}` };
  const pii: Record<string, { forward: Summary; fetch: Summary }> = {};
  const checkMe = (what: string) => (e: Exchange) => {
    const data = expectData(what, e) as { me?: { orders?: unknown[] } };
    if (!data.me?.orders?.length) throw new Error(`${what}: no orders in ${e.text.slice(0, 200)}`);
    expectHeader(what, e, clientHeaders.dataRegion, 'eu');
  };
  {
    const piiRegions = ['eu', 'us', 'apac'];
    const paths: Path[] = piiRegions.flatMap((region) => [
      { label: `acme (eu) me { orders { items { product } } }, client ${region} → gateway ${region}, forward`, run: () => post(urls.local[region]!, meQuery, auth), check: checkMe('forward') },
      { label: `acme (eu) me { orders { items { product } } }, client ${region} → gateway ${region}, fetch`, run: () => post(urls.fetch[region]!, meQuery, auth), check: checkMe('fetch') },
    ]);
    const summaries = await run('the EU tenant\'s me { orders { items { product } } } from eu, us and apac, forward and fetch', paths);
    piiRegions.forEach((region, i) => (pii[region] = { forward: summaries[2 * i]!, fetch: summaries[2 * i + 1]! }));
  }

  // --- 3a. the local catalog down: global failover ---------------------------------------------------
  progress('stopping catalog@eu (the EU gateway\'s global reads and directory lookups fail over)');
  await t.stack.stopSubgraphInstance('catalog', 'eu');
  let failover: { anonymous: Summary; me: Summary };
  try {
    const [anonymousDown, meDown] = await run('the anonymous read and the EU tenant\'s me query, client eu → gateway eu, with catalog@eu down', [
      { label: 'anonymous catalog read, client eu → gateway eu, catalog@eu down', run: () => post(urls.local.eu!, catalogRead), check: (e) => void expectData('failover read', e) },
      { label: 'acme me { orders { items { product } } }, client eu → gateway eu, catalog@eu down', run: () => post(urls.local.eu!, meQuery, auth), check: checkMe('failover me') },
    ]);
    failover = { anonymous: anonymousDown!, me: meDown! };
  } finally {
    progress('starting catalog@eu again');
    await t.stack.startSubgraphInstance('catalog', 'eu');
  }

  // --- 3b. a write in us, read back in apac with its consistency token ------------------------------
  // `admin` writes the catalog today; `platform-operator` is the role a catalog write is moving to (protocol/roles.ts).
  const admin = await devToken('globex', 'usr_globex_1', { roles: ['admin', 'platform-operator'] });
  let price = 1_000;
  const writeThenRead = async (label: string) => {
    progress(`measuring ${label} (${warmup} warm-up + ${requests} pairs)`);
    const writes: Sample[] = [];
    const reads: Sample[] = [];
    const totals: number[] = [];
    let stale = 0;
    let before = await catalogReads(t, 'apac');
    for (let i = 0; i < warmup + requests; i += 1) {
      if (i === warmup) before = await catalogReads(t, 'apac');
      price += 1;
      const mutation = `mutation { upsertProduct(id: "${benchProduct}", name: "Geo Bench Lamp", priceCents: ${price}) { id priceCents } }`;
      const write = await timed(topology, () => post(urls.local.us!, mutation, { authorization: `Bearer ${admin}` }));
      expectData('write', write.exchange);
      const token = header(write.headers, clientHeaders.consistency);
      if (!token) throw new Error(`write: no ${clientHeaders.consistency} header (${write.exchange.text.slice(0, 200)})`);
      const read = await timed(topology, () => post(urls.local.apac!, `{ product(id: "${benchProduct}") { name priceCents } }`, { [clientHeaders.consistency]: token }));
      const seen = (expectData('read with token', read.exchange) as { product?: { priceCents?: number } }).product?.priceCents;
      t.clearQueries();
      if (i < warmup) continue;
      if (seen !== price) stale += 1;
      writes.push(write);
      reads.push(read);
      totals.push(write.ms + read.ms);
    }
    const after = await catalogReads(t, 'apac');
    totals.sort((a, b) => a - b);
    return {
      write: summarize(`${label}: the write, client us → gateway us`, writes, linkInfo),
      read: summarize(`${label}: the read with the token, client apac → gateway apac`, reads, linkInfo),
      total: { medianMs: percentile(totals, 0.5), p95Ms: percentile(totals, 0.95) },
      staleReads: stale,
      apacCatalogReads: readsBetween(before, after),
    };
  };
  const consistencyLoopback = await writeThenRead('write in us, read in apac with the token (replication over loopback, as the cluster ships it)');
  progress('routing each replica\'s replication stream through a link of its round trip to the primary (us)');
  const replicationLinks = await replicationThroughLinks(cluster);
  cleanups.push(async () => void (await Promise.all(replicationLinks.map((l) => l.stop()))));
  const consistencyDistant = await writeThenRead('write in us, read in apac with the token (replication through a 220 ms link)');

  // ---------------------------------------------------------------------------------------------------
  // Tables.
  const md: string[] = [];
  md.push(`Code: ${revision()}.\n`);
  md.push(
    `Seed round trips (ms): within a region ${ROUND_TRIPS.withinRegionMs}; ${ROUND_TRIPS.betweenRegionsMs.map(([a, b, n]) => `${a}–${b} ${n}`).join(', ')}. `
      + `PostgreSQL: a primary (in ${primaryRegion}) and a streaming replica per region for the catalog, the local server for users and orders. `
      + `Each figure: ${requests} sequential requests from one client after ${warmup} warm-up requests, the paths of a table interleaved in ${rounds} rounds. `
      + `"Cross-region round trips" are the round trips the links between regions counted per request; `
      + `"link floor" is Σ round trips × nominal RTT over every link the request used.`,
  );

  md.push('\n## 1. Anonymous catalog read `{ products(first: 5) { name priceCents } }` by client region\n');
  md.push('| client region | local gateway: median ms | p95 ms | cross-region round trips | US gateway only: median ms | p95 ms | cross-region round trips | RTT to us | saved by the local gateway (median) |');
  md.push('|---|---|---|---|---|---|---|---|---|');
  for (const region of regions) {
    const { local, viaUs } = anonymous[region]!;
    md.push(`| ${region} | ${ms(local.medianMs)} | ${ms(local.p95Ms)} | ${crossingText(local)} | ${ms(viaUs.medianMs)} | ${ms(viaUs.p95Ms)} | ${crossingText(viaUs)} | ${roundTripMs(region, 'us', ROUND_TRIPS)} | ${region === 'us' ? '— (same path)' : ms(viaUs.medianMs - local.medianMs)} |`);
  }

  md.push('\n## 2. EU tenant (acme, usr_acme_1) `me { orders { items { product { name } } } }`, each client at its local gateway\n');
  md.push(`| client region | mode | median ms | p95 ms | cross-region round trips per request | link floor ms (cross + within) | median − link floor ms | served (${clientHeaders.gatewayRegion} / ${clientHeaders.dataRegion} / ${clientHeaders.globalRegion}) |`);
  md.push('|---|---|---|---|---|---|---|---|');
  for (const region of ['eu', 'us', 'apac']) {
    for (const mode of ['forward', 'fetch'] as const) {
      const s = pii[region]![mode];
      md.push(`| ${region} | ${mode} | ${ms(s.medianMs)} | ${ms(s.p95Ms)} | ${crossingText(s)} | ${ms(s.floorMs.total)} (${ms(s.floorMs.crossRegion)} + ${ms(s.floorMs.withinRegion)}) | ${ms(s.medianMs - s.floorMs.total)} | ${servedBy(s, clientHeaders.gatewayRegion)} / ${servedBy(s, clientHeaders.dataRegion)} / ${servedBy(s, clientHeaders.globalRegion)} |`);
    }
  }

  const home = pii.eu!.forward;
  md.push('\n### Where the time goes in a forwarded request\n');
  md.push(`A forwarded request is the home request (client eu → gateway eu, median ${ms(home.medianMs)} ms) plus one round trip between the regions and the forwarding gateway's own work (its client link replaces the home client's): `
    + `median − RTT − home median is what forwarding adds beyond the round trip; less the delay link's own cost for that round trip (calibrated against a bare HTTP server: ${calibrations.map((c) => `${c.nominalMs} ms → +${ms(c.overheadMs)}`).join(', ')}), it is the forwarding gateway's own time. `
    + `The link floor (Σ round trips × nominal RTT) splits each median into time on the wire and the rest.\n`);
  md.push('| client → gateway (forward) | median ms | cross-region round trips | RTT ms | home (eu → eu) median ms | beyond RTT + home ms | the hop link\'s own cost ms | forwarding gateway\'s own time ms | link floor ms | all links\' own cost ms (est.) | gateways + subgraphs + SQL ms (median − floor − links\' cost) | round trips per request, by link |');
  md.push('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const region of ['eu', 'us', 'apac']) {
    const s = pii[region]!.forward;
    const atHome = region === 'eu';
    const rtt = atHome ? 0 : roundTripMs(region, 'eu', ROUND_TRIPS);
    const beyond = s.medianMs - rtt - home.medianMs;
    const cells = atHome ? ['—', '—', '— (home)'] : [ms(beyond), ms(overheadOf(rtt)), ms(beyond - overheadOf(rtt))];
    md.push(`| ${region} → ${region} | ${ms(s.medianMs)} | ${crossingText(s)} | ${rtt || '—'} | ${ms(home.medianMs)} | ${cells.join(' | ')} | ${ms(s.floorMs.total)} | ${ms(linkOverhead(s))} | ${ms(s.medianMs - s.floorMs.total - linkOverhead(s))} | ${s.links.map((l) => `${trips(l.roundTripsPerRequest)}×${l.rttMs} ${l.link}`).join('; ')} |`);
  }
  md.push('\nThe same split for fetch mode (the gateway of the client\'s region plans and fetches the home region\'s subgraphs itself):\n');
  md.push("| client → gateway (fetch) | median ms | cross-region round trips | link floor ms | all links' own cost ms (est.) | gateways + subgraphs + SQL ms (median − floor − links' cost) | cross-region round trips per request, by link |");
  md.push('|---|---|---|---|---|---|---|');
  for (const region of ['eu', 'us', 'apac']) {
    const s = pii[region]!.fetch;
    md.push(`| ${region} → ${region} | ${ms(s.medianMs)} | ${crossingText(s)} | ${ms(s.floorMs.total)} | ${ms(linkOverhead(s))} | ${ms(s.medianMs - s.floorMs.total - linkOverhead(s))} | ${linkList(s, true)} |`);
  }

  md.push('\n### SQL of one request\n');
  md.push('The statements Drizzle sent for one more request of each path (BEGIN/COMMIT not shown), and the round trips the database links counted per request:\n');
  md.push('| path | statements by database | database round trips per request |');
  md.push('|---|---|---|');
  for (const s of [anonymous.eu!.local, pii.eu!.forward]) {
    const statements = Object.entries(s.sqlOfOneRequest ?? {}).map(([db, list]) => `${db}: ${list.length} (${[...new Set(list)].map((q) => `\`${q.slice(0, 60)}${q.length > 60 ? '…' : ''}\` ×${list.filter((x) => x === q).length}`).join(', ')})`).join('; ');
    const dbTrips = s.links.filter((l) => l.link.includes('(PostgreSQL)')).map((l) => `${trips(l.roundTripsPerRequest)} ${l.link}`).join('; ');
    md.push(`| ${s.label} | ${statements} | ${dbTrips} |`);
  }

  md.push('\n## 3. The local catalog down, and a write read back from another region\n');
  md.push(`| read | median ms | p95 ms | cross-region round trips | served global data (${clientHeaders.globalRegion}) |`);
  md.push('|---|---|---|---|---|');
  const failoverRow = (name: string, up: Summary, down: Summary) => {
    md.push(`| ${name}, catalog@eu up | ${ms(up.medianMs)} | ${ms(up.p95Ms)} | ${crossingText(up)} | ${servedBy(up, clientHeaders.globalRegion)} |`);
    md.push(`| ${name}, catalog@eu **down** | ${ms(down.medianMs)} | ${ms(down.p95Ms)} | ${crossingText(down)} | ${servedBy(down, clientHeaders.globalRegion)} |`);
  };
  failoverRow('anonymous catalog read, client eu → gateway eu', anonymous.eu!.local, failover.anonymous);
  failoverRow('acme me { orders { items { product } } }, client eu → gateway eu', pii.eu!.forward, failover.me);
  md.push('');
  md.push(`| write (client us → gateway us), then read with its token (client apac → gateway apac) | write median ms | write p95 | read median ms | read p95 | write + read median ms | read cross-region round trips | reads that saw the write | where the apac catalog read (geofed_catalog_reads_total) |`);
  md.push('|---|---|---|---|---|---|---|---|---|');
  for (const [name, c] of [['replication over loopback (as the cluster ships it)', consistencyLoopback], [`replication through a link of the region's RTT (us→apac 220 ms, ${consistencyWaitMs} ms consistency wait)`, consistencyDistant]] as const) {
    const where = Object.entries(c.apacCatalogReads).map(([k, n]) => `${k} ×${n}`).join('; ');
    md.push(`| ${name} | ${ms(c.write.medianMs)} | ${ms(c.write.p95Ms)} | ${ms(c.read.medianMs)} | ${ms(c.read.p95Ms)} | ${ms(c.total.medianMs)} | ${crossingText(c.read)} | ${requests - c.staleReads}/${requests} | ${where} |`);
  }

  // Targets.
  md.push('\n## Targets\n');
  md.push('| target | path | measured | budget | holds |');
  md.push('|---|---|---|---|---|');
  const verdicts: { target: string; path: string; measuredMs: number; budgetMs: number; holds: boolean; detail: string }[] = [];
  for (const region of regions) {
    const s = anonymous[region]!.local;
    const budget = s.floorMs.total + gatewayAllowanceMs;
    const holds = s.crossings.max === 0 && s.medianMs <= budget;
    const links = linkOverhead(s);
    const detail = `${ms(s.medianMs)} ms median (p95 ${ms(s.p95Ms)}), ${crossingText(s)} cross-region round trips; the delay links' own cost ≈ ${ms(links)} ms of it, so the gateway + catalog + SQL time is ≈ ${ms(s.medianMs - s.floorMs.total - links)} ms`;
    verdicts.push({ target: `global read through the local gateway ≤ local round trips + ${gatewayAllowanceMs} ms`, path: `client ${region} → gateway ${region}`, measuredMs: s.medianMs, budgetMs: budget, holds, detail });
    md.push(`| global read through the local gateway ≤ local round trips + ${gatewayAllowanceMs} ms | client ${region} → gateway ${region} | ${detail} | ${ms(budget)} ms = ${linkList(s, false)} + ${gatewayAllowanceMs} | ${holds ? 'yes' : `**no**: ${ms(s.medianMs - budget)} ms over`} |`);
  }
  for (const region of ['us', 'apac']) {
    const s = pii[region]!.forward;
    const rtt = roundTripMs(region, 'eu', ROUND_TRIPS);
    const budget = rtt + home.medianMs + gatewayAllowanceMs;
    const exactlyOne = s.crossings.min === 1 && s.crossings.max === 1;
    const holds = exactlyOne && s.medianMs <= budget;
    const detail = `${ms(s.medianMs)} ms median (p95 ${ms(s.p95Ms)}); cross-region round trips per request: ${crossingText(s)} over ${s.requests} requests; ${ms(s.medianMs - rtt - home.medianMs)} ms beyond RTT + home`;
    verdicts.push({ target: 'PII read (forward) = exactly one cross-region round trip + the home region\'s local time', path: `client ${region} → gateway ${region}`, measuredMs: s.medianMs, budgetMs: budget, holds, detail });
    const outliers = s.crossings.outliers.map((o) => `request ${o.request}: ${Object.entries(o.links).map(([l, n]) => `${n}× ${l}`).join(', ')}`).join('; ');
    const why = !exactlyOne ? `**no**: not exactly one crossing (${outliers})` : s.medianMs <= budget ? 'yes' : `**no**: ${ms(s.medianMs - budget)} ms over`;
    md.push(`| PII read (forward) = exactly 1 cross-region round trip + the home region's local time (+ ${gatewayAllowanceMs} ms for the forwarding gateway) | client ${region} → gateway ${region} (acme, home eu) | ${detail} | ${ms(budget)} ms = ${rtt} RTT + ${ms(home.medianMs)} home (eu → eu) + ${gatewayAllowanceMs} | ${why} |`);
  }
  const odd = [...regions.flatMap((r) => [anonymous[r]!.local, anonymous[r]!.viaUs]), ...['eu', 'us', 'apac'].flatMap((r) => [pii[r]!.forward, pii[r]!.fetch]), failover.anonymous, failover.me].filter((x, i, all) => all.indexOf(x) === i && x.crossings.outliers.length > 0);
  if (odd.length > 0) {
    md.push('\nRequests whose cross-region count differs from the rest of their row (the links that counted them):\n');
    for (const x of odd) md.push(`- ${x.label}: ${x.crossings.outliers.map((o) => `request ${o.request}: ${o.crossings} (${Object.entries(o.links).map(([l, n]) => `${n}× ${l}`).join(', ')})`).join('; ')}`);
  }
  md.push(`\nDelay-link calibration (a bare HTTP server, ${requests} requests): ${calibrations.map((c) => `a ${c.nominalMs} ms link costs ${ms(c.realizedRoundTripMs)} ms per round trip (+${ms(c.overheadMs)})`).join('; ')}. The targets are checked against the nominal RTTs, as written.`);

  const table = md.join('\n');
  const rows = {
    roundTrips: ROUND_TRIPS,
    requests,
    warmup,
    calibrations,
    anonymousCatalogRead: anonymous,
    euTenantMe: pii,
    failover,
    consistency: { loopbackReplication: consistencyLoopback, replicationThroughLinks: consistencyDistant, consistencyWaitMs },
    targets: verdicts,
  };
  const before = new Set(readdirSync('bench/results'));
  report('geo', `geofed at a distance: the seed's round trips, a gateway per region, PostgreSQL with a streaming replica per region (${requests} sequential requests per figure)`, table, rows);
  const written = readdirSync('bench/results').filter((f) => /^geo-.*\.md$/.test(f) && !before.has(f));
  if (written.length !== 1) throw new Error(`expected one new bench/results/geo-*.md, found ${written.join(', ') || 'none'}`);
  const svgPath = `bench/results/${written[0]!.replace(/\.md$/, '.svg')}`;
  const bar = (s: Summary) => ({ value: s.medianMs, whisker: s.p95Ms });
  writeFileSync(
    svgPath,
    groupedBarChart({
      title: 'geofed at a distance: latency by client region',
      subtitle: `seed round trips (us–eu 80, us–apac 220, us–latam 150 ms), PostgreSQL with a replica per region; median of ${requests} sequential requests, whisker p95`,
      panels: [
        {
          title: 'Anonymous catalog read { products(first: 5) }',
          xLabel: 'client region',
          yLabel: 'ms (median, whisker p95)',
          series: ['local gateway', 'US gateway only'],
          groups: regions.map((r) => ({ label: r, values: [bar(anonymous[r]!.local), bar(anonymous[r]!.viaUs)] })),
        },
        {
          title: 'EU tenant me { orders { items { product } } }, client at its local gateway',
          xLabel: 'client region',
          yLabel: 'ms (median, whisker p95)',
          series: ['forward (one hop to the home gateway)', 'fetch (the local gateway fetches eu subgraphs)'],
          groups: ['eu', 'us', 'apac'].map((r) => ({ label: r, values: [bar(pii[r]!.forward), bar(pii[r]!.fetch)] })),
        },
      ],
    }),
  );
  progress(`wrote ${svgPath}`);
} catch (error) {
  failed = true;
  console.error(error);
} finally {
  for (const cleanup of cleanups) {
    try {
      await cleanup();
    } catch (error) {
      failed = true;
      console.error(error);
    }
  }
}
if (failed) process.exitCode = 1;
