import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { GeofedConfig } from '../gateway/config.js';
import { gatewayEnv } from '../gateway/env.js';
import type { SubgraphLimitSettings } from '../gateway/fetch-gate.js';
import { startGateway } from '../gateway/gateway.js';
import { ErrorCode } from '../protocol/errors.js';
import { closeClients, metricSum, send, startThrottledProxy, steadyLoad, type Outcome } from '../test/fixtures/flood.js';
import { devToken, startTestStack, type Driver } from '../test/fixtures/stack.js';
import { waitFor } from '../test/fixtures/wait.js';
import { percentile, report } from './report.js';

// The attack run as a benchmark: one address sends N anonymous catalog reads at once, every second, while
// three signed-in tenants query steadily; every region's catalog instance has a bounded capacity (a throttled
// proxy: 4 requests at a time, 20 ms each, the stand-in for its database pool). Each row is a fresh gateway over
// the same stack: subgraph_limits effectively off (the gateway before flood protection), the defaults, limits
// sized to the catalog's capacity, each with dedup on and off; and a row without the flood for reference.
// The flooder and the proxies run in processes of their own. `npm run bench -- --only flood [--seconds 5 --flooders 500 --driver postgres]`
const { values } = parseArgs({
  allowPositionals: true,
  strict: false,
  options: {
    seconds: { type: 'string', default: '5' },
    flooders: { type: 'string', default: '500' },
    driver: { type: 'string', default: 'postgres' },
    // Internal: this file run as the flooder, or as the throttled catalog proxies, each in a process of its own
    // (an attacker's work is not the gateway's, and a subgraph's capacity does not shrink when the gateway is busy).
    'flood-url': { type: 'string' },
    throttle: { type: 'string' },
  },
});
const floodSeconds = Number(values.seconds);
const flooders = Number(values.flooders);
const driver = String(values.driver) as Driver;

interface FloodCounts {
  requests: number;
  answered: number;
  shed: number;
  otherErrors: number;
}

if (values['flood-url'] !== undefined) {
  const url = String(values['flood-url']);
  const counts: FloodCounts = { requests: 0, answered: 0, shed: 0, otherErrors: 0 };
  const until = Date.now() + floodSeconds * 1_000;
  // Waves: N reads at once, every second (or as soon as the last wave is answered, if that takes longer).
  while (Date.now() < until) {
    const wave = Date.now();
    await Promise.all(
      Array.from({ length: flooders }, async () => {
        const outcome = await send(url, '{ products(first: 1) { id } }').catch(() => undefined);
        counts.requests += 1;
        if (outcome && outcome.status === 200 && outcome.codes.length === 0) counts.answered += 1;
        else if (outcome && outcome.status === 503 && outcome.codes[0] === ErrorCode.SUBGRAPH_OVERLOADED && outcome.retryAfter !== null) counts.shed += 1;
        else counts.otherErrors += 1;
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, wave + 1_000 - Date.now())));
  }
  await closeClients();
  process.stdout.write(`${JSON.stringify(counts)}\n`);
  process.exit(0);
}

const capacity = { concurrency: 4, serviceMs: 20 };

if (values.throttle !== undefined) {
  const targets = JSON.parse(String(values.throttle)) as Record<string, string>;
  const proxies = new Map(await Promise.all(Object.entries(targets).map(async ([name, target]) => [name, await startThrottledProxy({ target, ...capacity })] as const)));
  const reply = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
  reply(Object.fromEntries([...proxies].map(([name, proxy]) => [name, proxy.url])));
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'stop') break;
    if (line === 'reset') for (const proxy of proxies.values()) proxy.reset();
    reply({ received: [...proxies.values()].reduce((n, proxy) => n + proxy.received(), 0), idle: [...proxies.values()].every((proxy) => proxy.idle()) });
  }
  await Promise.all([...proxies.values()].map((proxy) => proxy.stop()));
  process.exit(0);
}

/** The throttled proxies in a child process: their URLs, and a line protocol for their counters. */
async function throttledProxies(targets: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/flood.ts', '--throttle', JSON.stringify(targets)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async <T>(): Promise<T> => {
    const line = await lines.next();
    if (line.done) throw new Error('the proxy process ended');
    return JSON.parse(line.value) as T;
  };
  const urls = await next<Record<string, string>>();
  const ask = (command: 'stats' | 'reset') => {
    child.stdin.write(`${command}\n`);
    return next<{ received: number; idle: boolean }>();
  };
  return {
    urls,
    stats: () => ask('stats'),
    reset: () => ask('reset'),
    stop: () =>
      new Promise<void>((resolve) => {
        child.on('exit', () => resolve());
        child.stdin.end('stop\n');
      }),
  };
}

/** The flood, from a child process: its counts once it is over. */
function floodFromChild(url: string): Promise<FloodCounts> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/flood.ts', '--flood-url', url, '--flooders', String(flooders), '--seconds', String(floodSeconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(output.trim().split('\n').at(-1)!) as FloodCounts) : reject(new Error(`the flooder exited with ${code}`))));
  });
}

const off: SubgraphLimitSettings = { maxInFlight: 1_000_000, maxQueue: 1_000_000, queueTimeoutMs: 600_000, maxShare: 1, dedup: false };
const defaults: SubgraphLimitSettings = { maxInFlight: 64, maxQueue: 256, queueTimeoutMs: 100, maxShare: 0.5, dedup: false };
const sized: SubgraphLimitSettings = { maxInFlight: 8, maxQueue: 64, queueTimeoutMs: 100, maxShare: 0.25, dedup: false };
const variants: { name: string; limits: SubgraphLimitSettings; flood: boolean }[] = [
  { name: 'no flood (limits sized)', limits: sized, flood: false },
  { name: 'without the fix: limits off, dedup off', limits: off, flood: true },
  { name: 'defaults (64 in flight, share 0.5), dedup off', limits: defaults, flood: true },
  { name: 'defaults (64 in flight, share 0.5), dedup on', limits: { ...defaults, dedup: true }, flood: true },
  { name: 'sized (8 in flight, share 0.25), dedup off', limits: sized, flood: true },
  { name: 'sized (8 in flight, share 0.25), dedup on', limits: { ...sized, dedup: true }, flood: true },
];

interface Row {
  variant: string;
  limits: SubgraphLimitSettings;
  othersRequests: number;
  othersP50Ms: number;
  othersP95Ms: number;
  othersErrors: number;
  othersErrorCodes: Record<string, number>;
  /** Answers to the others that a catalog of another region served: the us catalog's breaker was open. */
  othersFailedOver: number;
  flooderRequests: number;
  flooderAnswered: number;
  flooderShed: number;
  flooderOtherErrors: number;
  catalogFetchesSent: number;
  catalogFetchesDeduplicated: number;
  catalogFetchErrors: number;
}

const unlimited = { capacity: 1e12, refillPerSecond: 1e9, regions: {} };
const t = await startTestStack(driver, {
  configure: (config) => ({
    ...config,
    rateLimits: { ...config.rateLimits, billingPlans: Object.fromEntries(Object.keys(config.rateLimits.billingPlans).map((billingPlan) => [billingPlan, unlimited])), anonymous: { ...unlimited, clientKey: 'address' } },
  }),
});
const catalogUrls = t.stack.config.subgraphs.find((s) => s.name === 'catalog')!.urls;
const proxies = await throttledProxies(catalogUrls);
const throttled: GeofedConfig = { ...t.stack.config, subgraphs: t.stack.config.subgraphs.map((s) => (s.name === 'catalog' ? { ...s, urls: proxies.urls } : s)) };
const callers = [
  { name: 'globex', token: await devToken('globex', 'usr_globex_1'), query: '{ products(first: 3) { name priceCents } }' },
  { name: 'acme', token: await devToken('acme', 'usr_acme_1'), query: '{ me { name orders(first: 1) { items { product { name } } } } }' },
  { name: 'initech', token: await devToken('initech', 'usr_initech_1'), query: '{ me { name orders(first: 1) { items { product { name } } } } }' },
];
const clean = (o: Outcome) => o.status === 200 && o.codes.length === 0;
const rows: Row[] = [];
try {
  for (const variant of variants) {
    // The previous row's backlog (requests whose clients gave up are still worked on) is gone first.
    await waitFor(async () => (await proxies.stats()).idle, { timeoutMs: 120_000, intervalMs: 100, what: 'the catalog proxies to drain' });
    const config: GeofedConfig = { ...throttled, subgraphLimits: variant.limits };
    const gateway = await startGateway({ config, env: gatewayEnv({}), port: 0 });
    const url = `${gateway.url}/graphql`;
    try {
      for (const caller of callers) await send(url, caller.query, { token: caller.token });
      await proxies.reset();
      const steady = steadyLoad(url, callers);
      const flooded = variant.flood ? await floodFromChild(url) : await new Promise<FloodCounts>((resolve) => setTimeout(() => resolve({ requests: 0, answered: 0, shed: 0, otherErrors: 0 }), floodSeconds * 1_000));
      const others = [...(await steady.stop()).values()].flat();
      const latencies = others.map((o) => o.ms).sort((a, b) => a - b);
      const codes: Record<string, number> = {};
      for (const o of others.filter((x) => !clean(x))) for (const code of o.codes.length ? o.codes : [`HTTP ${o.status}`]) codes[code] = (codes[code] ?? 0) + 1;
      rows.push({
        variant: variant.name,
        limits: variant.limits,
        othersRequests: others.length,
        othersP50Ms: percentile(latencies, 0.5),
        othersP95Ms: percentile(latencies, 0.95),
        othersErrors: others.filter((o) => !clean(o)).length,
        othersErrorCodes: codes,
        othersFailedOver: others.filter((o) => o.globalRegion !== null && o.globalRegion !== 'us').length,
        flooderRequests: flooded.requests,
        flooderAnswered: flooded.answered,
        flooderShed: flooded.shed,
        flooderOtherErrors: flooded.otherErrors,
        catalogFetchesSent: (await proxies.stats()).received,
        catalogFetchesDeduplicated: await metricSum(gateway.url, 'geofed_subgraph_fetches_deduplicated_total', { subgraph: 'catalog' }),
        catalogFetchErrors: await metricSum(gateway.url, 'geofed_subgraph_fetch_duration_seconds_count', { subgraph: 'catalog', outcome: 'error' }),
      });
      console.log(`${variant.name}: others p95 ${rows.at(-1)!.othersP95Ms.toFixed(1)} ms, ${rows.at(-1)!.othersErrors} errors`);
    } finally {
      await gateway.stop();
    }
  }
} finally {
  await proxies.stop();
  await closeClients();
  await t.stop();
}

const lines = [
  '| gateway | others: requests | p50 ms | p95 ms | errors | failed over | flooder: requests | answered | shed (503) | other errors | catalog fetches sent | shared (dedup) | catalog fetch errors |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
];
for (const r of rows) {
  const codes = Object.entries(r.othersErrorCodes).map(([code, n]) => `${n} ${code}`).join(', ');
  lines.push(
    `| ${r.variant} | ${r.othersRequests} | ${r.othersP50Ms.toFixed(1)} | ${r.othersP95Ms.toFixed(1)} | ${r.othersErrors}${codes ? ` (${codes})` : ''} | ${r.othersFailedOver} | ${r.flooderRequests} | ${r.flooderAnswered} | ${r.flooderShed} | ${r.flooderOtherErrors} | ${r.catalogFetchesSent} | ${r.catalogFetchesDeduplicated} | ${r.catalogFetchErrors} |`,
  );
}
report(
  'flood',
  `${flooders} anonymous catalog reads at once from one address, every second for ${floodSeconds} s, three signed-in tenants querying meanwhile; every catalog instance serves 4 requests at a time, 20 ms each (${driver})`,
  lines.join('\n'),
  rows,
);
