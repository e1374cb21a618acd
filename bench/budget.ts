import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Redis as UpstashRedis } from '@upstash/redis';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { loadConfig, scopeLookup } from '../gateway/config.js';
import { gatewayEnv } from '../gateway/env.js';
import { startGateway } from '../gateway/gateway.js';
import { startSlowProxy } from '../dev/slow-proxy.js';
import { buildCostModel } from '../plugins/cost/calculator.js';
import { costSites, fieldOwnershipOf } from '../plugins/field-ownership.js';
import { rateLimitPlugin } from '../plugins/rate-limit/index.js';
import { settleDebits, type BucketStore } from '../plugins/rate-limit/store.js';
import { upstashBucketStore } from '../plugins/rate-limit/upstash-store.js';
import { startGatewayProcess, writeGatewayConfig } from '../test/fixtures/gateway-process.js';
import { metricValue } from '../test/fixtures/metrics.js';
import { devToken, startTestStack, type Driver } from '../test/fixtures/stack.js';
import { percentile, report } from './report.js';

// Budgets in Upstash Redis under load, three gateways (us, eu, apac) in processes of their own, the Upstash REST
// proxy of dev/ in another, 24 clients sending acme's `{ me { name } }` (cost 1, charged to acme's eu bucket
// whichever gateway serves it) through the gateways in turn.
// 1. Debit latency, by REST client: @upstash/redis over the global fetch (the store before, auto-pipelining on as
//    the client defaults, and off), and the store now: an undici pool of keep-alive connections, 16 requests in
//    flight, the debits that find them all busy sent together as one /pipeline (and the same pool unbounded, and
//    bounded at 4, where debits wait and batch at this load already). Each gateway runs
//    the rate-limit plugin over that store; every debit is timed where the plugin asks for it. "debits > timeout"
//    is what the plugin before decided without the store; it now still uses an answer that had arrived by the time
//    its timer fired ("decided without the store"). Variants take turns, `--rounds` times, so that the machine's
//    other load falls on all of them alike.
// 2. Overspend: a bucket of `--capacity` that never refills, half spent with the store healthy, then the store
//    slowed (every reply held past store_timeout_ms by dev/slow-proxy.ts) and stopped (its port refuses), `--outage`
//    operations each, with on_store_error unmetered (the old `open`: admit unpriced) and open (local shares).
// `npm run bench -- --only budget [--seconds 8 --rounds 3 --capacity 600 --outage 600 --driver postgres]`
const { values } = parseArgs({
  allowPositionals: true,
  strict: false,
  options: {
    seconds: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
    clients: { type: 'string', default: '24' },
    capacity: { type: 'string', default: '600' },
    outage: { type: 'string', default: '600' },
    driver: { type: 'string', default: 'postgres' },
    // Internal: this file run as one gateway with the rate-limit plugin over a given store, or as the slow proxy
    // (each in a process of its own: the store's path must not wait for the clients' and subgraphs' event loop).
    gateway: { type: 'string' },
    'slow-proxy': { type: 'string' },
  },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const clients = Number(values.clients);
const capacity = Number(values.capacity);
const outageOperations = Number(values.outage);
const driver = String(values.driver) as Driver;
const storeTimeoutMs = 250;
const query = '{ me { name } }';

const script = readFileSync('plugins/rate-limit/token-bucket.lua', 'utf8');
const scriptSha = createHash('sha1').update(script).digest('hex');

/** The store as it was: @upstash/redis over the global fetch (undici's keep-alive agent), one EVALSHA request per debit. */
function fetchStore(url: string, token: string, autoPipelining: boolean): BucketStore {
  const redis = new UpstashRedis({ url, token, retry: { retries: 0 }, automaticDeserialization: false, enableTelemetry: false, enableAutoPipelining: autoPipelining, signal: () => AbortSignal.timeout(storeTimeoutMs) });
  const run = async (keys: string[], args: string[]): Promise<string[]> => {
    try {
      return await redis.evalsha<string[], string[]>(scriptSha, keys, args);
    } catch (error) {
      if (!String((error as Error).message).includes('NOSCRIPT')) throw error;
      await redis.scriptLoad(script);
      return redis.evalsha<string[], string[]>(scriptSha, keys, args);
    }
  };
  return {
    async debit(debits) {
      const args = ['', ...debits.flatMap((debit) => [String(debit.capacity), String(debit.refillPerSecond), String(debit.cost)])];
      const reply = await run(debits.map((debit) => debit.key), args);
      return settleDebits(debits, debits.map((_, i) => Number(reply[i])), reply[debits.length] === '1');
    },
    async close() {},
  };
}

const variants = {
  'before: @upstash/redis over fetch, auto-pipelining on (its default)': (url: string, token: string) => fetchStore(url, token, true),
  '@upstash/redis over fetch, auto-pipelining off': (url: string, token: string) => fetchStore(url, token, false),
  'undici pool, unbounded (never batched)': (url: string, token: string) => upstashBucketStore({ url, token, timeoutMs: storeTimeoutMs, maxInFlight: 1_000 }),
  'undici pool, 4 in flight, the rest batched': (url: string, token: string) => upstashBucketStore({ url, token, timeoutMs: storeTimeoutMs, maxInFlight: 4 }),
  'after: undici pool, 16 in flight, the rest batched (the store now)': (url: string, token: string) => upstashBucketStore({ url, token, timeoutMs: storeTimeoutMs }),
} as const;
type Variant = keyof typeof variants;

if (values.gateway !== undefined) {
  // One gateway whose debits are timed: budgets off in its config, the rate-limit plugin added over the variant's store.
  const { configPath, region, variant, url, token } = JSON.parse(String(values.gateway)) as { configPath: string; region: string; variant: Variant; url: string; token: string };
  const loaded = loadConfig(configPath, { GEOFED_REGION: region });
  const sdl = readFileSync(loaded.supergraphPath!, 'utf8');
  const model = buildCostModel(sdl, { ...loaded.cost, siteOf: costSites(fieldOwnershipOf(sdl), scopeLookup(loaded)) });
  const inner = variants[variant](url, token);
  let samples: number[] = [];
  const timed: BucketStore = {
    async debit(debits) {
      const started = performance.now();
      try {
        return await inner.debit(debits);
      } finally {
        samples.push(performance.now() - started);
      }
    },
    close: () => inner.close(),
  };
  const registry = new Registry();
  const plugin = rateLimitPlugin({ model: () => model, settings: loaded.rateLimits, maxOperationCost: loaded.cost.maxOperationCost, gatewayRegion: region, store: timed, registry });
  const gateway = await startGateway({ config: { ...loaded, rateLimits: { ...loaded.rateLimits, enabled: false } }, env: gatewayEnv({}), port: 0, plugins: [plugin] });
  process.stdout.write(`bench ${JSON.stringify({ url: `${gateway.url}/graphql` })}\n`);
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'stop') break;
    // The debits the plugin decided without the store (no answer in time), since the last report.
    const storeErrors = ((await registry.getSingleMetric('geofed_rate_limit_store_errors_total')?.get())?.values ?? []).reduce((sum, value) => sum + value.value, 0);
    registry.resetMetrics();
    process.stdout.write(`bench ${JSON.stringify({ samples, storeErrors })}\n`);
    samples = [];
  }
  await gateway.stop();
  process.exit(0);
}

if (values['slow-proxy'] !== undefined) {
  // dev/slow-proxy.ts in front of the given URL; stdin: `delay <ms>`, `stop`, `start`, `close`; each answered `bench ok`.
  const proxy = await startSlowProxy({ target: String(values['slow-proxy']) });
  process.stdout.write(`bench ${JSON.stringify({ url: proxy.url })}\n`);
  for await (const line of createInterface({ input: process.stdin })) {
    const [command, argument] = line.split(' ');
    if (command === 'delay') proxy.setDelay(Number(argument));
    if (command === 'stop') await proxy.stop();
    if (command === 'start') await proxy.start();
    if (command === 'close') break;
    process.stdout.write('bench "ok"\n');
  }
  await proxy.close();
  process.exit(0);
}

/** Reads the `bench <json>` lines of a child process of this file (its other output is the gateway's logs). */
function benchLines(child: ChildProcess): <T>() => Promise<T> {
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return async <T>(): Promise<T> => {
    for (;;) {
      const line = await lines.next();
      if (line.done) throw new Error('a process of the benchmark ended');
      if (line.value.startsWith('bench ')) return JSON.parse(line.value.slice('bench '.length)) as T;
    }
  };
}

/** dev/slow-proxy.ts in a process of its own, driven over stdin. */
async function slowProxyProcess(target: string, children: ChildProcess[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/budget.ts', '--slow-proxy', target], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  const next = benchLines(child);
  const { url } = await next<{ url: string }>();
  const ask = async (line: string) => {
    child.stdin!.write(`${line}\n`);
    await next<string>();
  };
  return {
    url,
    setDelay: (ms: number) => ask(`delay ${ms}`),
    stop: () => ask('stop'),
    start: () => ask('start'),
    close: () => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : (child.once('exit', () => resolve()), child.stdin!.end('close\n')))),
  };
}

/** A process of this file serving as one gateway; `stats()` returns (and forgets) its debit times in ms and the debits decided without the store. */
async function timedGateway(options: { configPath: string; region: string; variant: Variant; url: string; token: string }, children: ChildProcess[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/budget.ts', '--gateway', JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, LOG_LEVEL: 'warn', GEOFED_AUDIT_LOG: 'silent' } });
  children.push(child);
  const next = benchLines(child);
  const { url } = await next<{ url: string }>();
  return {
    url,
    stats: () => {
      child.stdin!.write('stats\n');
      return next<{ samples: number[]; storeErrors: number }>();
    },
    stop: () => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : (child.once('exit', () => resolve()), child.stdin!.end('stop\n')))),
  };
}

/** The Upstash REST proxy of dev/ in a process of its own: its URL and token. */
async function upstashProxyProcess(children: ChildProcess[]): Promise<{ url: string; token: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'dev/upstash-rest-proxy-cli.ts', '--port', '0'], { stdio: ['ignore', 'pipe', 'ignore'] });
  children.push(child);
  const found: Record<string, string> = {};
  for await (const line of createInterface({ input: child.stdout! })) {
    const match = /^export (\w+)=(.*)$/.exec(line);
    if (match) found[match[1]!] = match[2]!;
    if (found.UPSTASH_REDIS_REST_URL && found.UPSTASH_REDIS_REST_TOKEN) return { url: found.UPSTASH_REDIS_REST_URL, token: found.UPSTASH_REDIS_REST_TOKEN };
  }
  throw new Error('the Upstash REST proxy ended before printing its URL');
}

interface Sent {
  readonly gateway: number;
  readonly status: number;
  readonly ms: number;
  readonly remaining: string | null;
}

/** `clients` at a time through the gateways in turn, until `total` operations or `untilMs`. */
async function load(urls: readonly string[], token: string, { total = Infinity, untilMs = Infinity }: { total?: number; untilMs?: number }): Promise<Sent[]> {
  const sent: Sent[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < total && Date.now() < untilMs) {
        const gateway = next++ % urls.length;
        const started = performance.now();
        const response = await fetch(urls[gateway]!, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query }) });
        await response.arrayBuffer();
        sent.push({ gateway, status: response.status, ms: performance.now() - started, remaining: response.headers.get('ratelimit-remaining') });
      }
    }),
  );
  return sent;
}

interface LatencyRow {
  readonly variant: string;
  readonly operations: number;
  readonly operationsPerSecond: number;
  readonly clientP50Ms: number;
  readonly clientP99Ms: number;
  readonly debits: number;
  readonly debitP50Ms: number;
  readonly debitP99Ms: number;
  readonly debitMaxMs: number;
  /** Debits slower than store_timeout_ms. */
  readonly overTimeout: number;
  /** Debits the plugin decided without the store's answer (on_store_error): an answer already received when the timeout fired is still used. */
  readonly withoutStore: number;
}

interface OverspendRow {
  readonly policy: string;
  readonly capacity: number;
  readonly healthy: number;
  readonly slowed: number;
  readonly stopped: number;
  readonly total: number;
  readonly overspend: number;
  /** What each gateway last saw left (RateLimit-Remaining of its last answer of the store). */
  readonly seen: number[];
  /** Σ s_g / 3: the most the local shares can admit while the store is gone (docs/cost-and-rate-limits.md). */
  readonly localBound: number;
  readonly leftAtOutage: number;
  readonly leftAfter: number;
  /** Debits of the healthy part that the store did not answer in time (decided by the policy instead). */
  readonly healthyStoreErrors: number;
  /** Debits of the outage charged to the gateways' local shares. */
  readonly fallbackAdmitted: number;
  readonly fallbackRefused: number;
}

const children: ChildProcess[] = [];
// Other work on the machine moves the latencies: the load is part of the result.
const loadAtStart = loadavg()[0]!;
const t = await startTestStack(driver);
const direct = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
await direct.connect();
const prefix = `geofed:bench:budget:${Date.now()}`;
const latencyRows: LatencyRow[] = [];
let latencyRounds: unknown[] = [];
const overspendRows: OverspendRow[] = [];
try {
  const upstash = await upstashProxyProcess(children);
  const token = await devToken('acme', 'usr_acme_1');
  const warmUpToken = await devToken('globex', 'usr_globex_1');
  const regions = ['us', 'eu', 'apac'];

  // 1. Debit latency. Budgets too big to refuse anything.
  const big = writeGatewayConfig(t.stack, { rate_limits: { key_prefix: `${prefix}:latency`, store_timeout_ms: storeTimeoutMs, default_plan: 'free', plans: { free: { capacity: 1e12, refill_per_second: 1e9 } } } });
  const names = Object.keys(variants) as Variant[];
  const started = await Promise.all(names.map((variant) => Promise.all(regions.map((region) => timedGateway({ configPath: big, region, variant, ...upstash }, children)))));
  const byVariant = new Map(names.map((name, i) => [name, started[i]!] as const));
  const collected = new Map<Variant, { sent: Sent[]; debits: number[]; withoutStore: number; seconds: number }>(names.map((name) => [name, { sent: [], debits: [], withoutStore: 0, seconds: 0 }]));
  const perRound: { round: number; variant: Variant; operations: number; debitP50Ms: number; debitP99Ms: number; overTimeout: number; withoutStore: number }[] = [];
  for (const gateways of byVariant.values()) {
    // Warm-up: JIT, connections, the script loaded.
    await load(gateways.map((gateway) => gateway.url), token, { total: 300 });
    await Promise.all(gateways.map((gateway) => gateway.stats()));
  }
  for (let round = 0; round < rounds; round += 1) {
    for (const [name, gateways] of byVariant) {
      const sent = await load(gateways.map((gateway) => gateway.url), token, { untilMs: Date.now() + seconds * 1_000 });
      const into = collected.get(name)!;
      into.sent.push(...sent);
      into.seconds += seconds;
      const stats = await Promise.all(gateways.map((gateway) => gateway.stats()));
      const debits = stats.flatMap((stat) => stat.samples).sort((a, b) => a - b);
      const withoutStore = stats.reduce((sum, stat) => sum + stat.storeErrors, 0);
      into.debits.push(...debits);
      into.withoutStore += withoutStore;
      perRound.push({ round, variant: name, operations: sent.length, debitP50Ms: percentile(debits, 0.5), debitP99Ms: percentile(debits, 0.99), overTimeout: debits.filter((ms) => ms > storeTimeoutMs).length, withoutStore });
    }
  }
  await Promise.all([...byVariant.values()].flat().map((gateway) => gateway.stop()));
  latencyRounds = perRound;
  for (const [variant, { sent, debits, withoutStore, seconds: measured }] of collected) {
    const client = sent.map((s) => s.ms).sort((a, b) => a - b);
    debits.sort((a, b) => a - b);
    latencyRows.push({
      variant,
      operations: sent.length,
      operationsPerSecond: sent.length / measured,
      clientP50Ms: percentile(client, 0.5),
      clientP99Ms: percentile(client, 0.99),
      debits: debits.length,
      debitP50Ms: percentile(debits, 0.5),
      debitP99Ms: percentile(debits, 0.99),
      debitMaxMs: debits.at(-1)!,
      overTimeout: debits.filter((ms) => ms > storeTimeoutMs).length,
      withoutStore,
    });
  }

  // 2. Overspend: the gateways as deployed (npm run gateway), the store behind the slow proxy.
  const slow = await slowProxyProcess(upstash.url, children);
  try {
    for (const policy of ['unmetered', 'open'] as const) {
      const keyPrefix = `${prefix}:${policy}`;
      const configPath = writeGatewayConfig(t.stack, { rate_limits: { key_prefix: keyPrefix, on_store_error: policy, store_timeout_ms: storeTimeoutMs, gateways: 3, default_plan: 'free', plans: { free: { capacity, refill_per_second: 0 } } } });
      await slow.setDelay(0);
      await slow.start();
      const mine: ChildProcess[] = [];
      const urls = await Promise.all(regions.map((region) => startGatewayProcess(configPath, { UPSTASH_REDIS_REST_URL: slow.url, UPSTASH_REDIS_REST_TOKEN: upstash.token, GEOFED_REGION: region }, mine)));
      children.push(...mine);
      const ok = (sent: readonly Sent[]) => sent.filter((s) => s.status === 200).length;
      // Warm-up on another tenant's bucket (connections, the script, JIT), so that no debit of a cold gateway times out.
      await load(urls, warmUpToken, { total: 300 });
      const summed = async (series: string) => (await Promise.all(urls.map((url) => metricValue(url.replace(/\/graphql$/, ''), series)))).reduce((a, b) => a + b, 0);
      const counters = async () => ({
        storeErrors: await summed(`geofed_rate_limit_store_errors_total{policy="${policy}"}`),
        admitted: await summed('geofed_rate_limit_fallback_debits_total{outcome="admitted"}'),
        refused: await summed('geofed_rate_limit_fallback_debits_total{outcome="refused"}'),
      });
      const afterWarmUp = await counters();
      const healthy = await load(urls, token, { total: capacity / 2 });
      // What each gateway last saw: one more operation each, alone, answered by the store.
      const seen: number[] = [];
      let primed = 0;
      for (let i = 0; i < urls.length; i += 1) {
        for (;;) {
          const [one] = await load([urls[i]!], token, { total: 1 });
          primed += one!.status === 200 ? 1 : 0;
          if (one!.remaining !== null) {
            seen.push(Number(one!.remaining));
            break;
          }
        }
      }
      const bucketKey = `${keyPrefix}:{acme}:eu`;
      const leftAtOutage = Number(await direct.hget(bucketKey, 'tokens'));
      const atOutage = await counters();
      await slow.setDelay(storeTimeoutMs * 4);
      const slowed = await load(urls, token, { total: outageOperations });
      await slow.stop();
      const stopped = await load(urls, token, { total: outageOperations });
      const admitted = ok(healthy) + primed + ok(slowed) + ok(stopped);
      const atEnd = await counters();
      overspendRows.push({
        policy,
        capacity,
        healthy: ok(healthy) + primed,
        slowed: ok(slowed),
        stopped: ok(stopped),
        total: admitted,
        overspend: Math.max(0, admitted - capacity),
        seen,
        localBound: seen.reduce((a, b) => a + b, 0) / regions.length,
        leftAtOutage,
        leftAfter: Number(await direct.hget(bucketKey, 'tokens')),
        healthyStoreErrors: atOutage.storeErrors - afterWarmUp.storeErrors,
        fallbackAdmitted: atEnd.admitted - atOutage.admitted,
        fallbackRefused: atEnd.refused - atOutage.refused,
      });
      for (const child of mine) child.kill('SIGTERM');
    }
  } finally {
    await slow.close();
  }
} finally {
  for (const child of children) child.kill('SIGTERM');
  const keys = await direct.keys(`${prefix}*`);
  if (keys.length > 0) await direct.del(...keys);
  direct.disconnect();
  await t.stop();
}

const ms = (value: number) => value.toFixed(1);
const machine = { cores: availableParallelism(), loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadavg()[0]! };
const latencyTable = [
  `${machine.cores} cores, 1-minute load average ${machine.loadAverageAtStart.toFixed(1)} at the start, ${machine.loadAverageAtEnd.toFixed(1)} at the end (the benchmark's own processes included).`,
  '',
  `Debit latency, ${clients} clients through 3 gateways, ${rounds} × ${seconds} s per client (store_timeout_ms ${storeTimeoutMs}):`,
  '',
  '| REST client | ops/s | client p50 ms | client p99 ms | debits | debit p50 ms | debit p99 ms | debit max ms | debits > timeout | decided without the store |',
  '|---|---|---|---|---|---|---|---|---|---|',
  ...latencyRows.map((r) => `| ${r.variant} | ${r.operationsPerSecond.toFixed(0)} | ${ms(r.clientP50Ms)} | ${ms(r.clientP99Ms)} | ${r.debits} | ${ms(r.debitP50Ms)} | ${ms(r.debitP99Ms)} | ${ms(r.debitMaxMs)} | ${r.overTimeout} (${((100 * r.overTimeout) / Math.max(1, r.debits)).toFixed(2)} %) | ${r.withoutStore} (${((100 * r.withoutStore) / Math.max(1, r.debits)).toFixed(2)} %) |`),
].join('\n');
const overspendTable = [
  `Overspend of a bucket of ${capacity} that never refills, shared by 3 gateways (gateways: 3): half spent with the store healthy, then ${outageOperations} operations with every reply held ${storeTimeoutMs * 4} ms (slowed), then ${outageOperations} with the store's port refusing (stopped):`,
  '',
  '| on_store_error | admitted: healthy (debits past the timeout) | slowed | stopped | total | overspend | what each gateway last saw | bound on the local shares (Σ s_g / 3) | left in Redis at the outage → after | outage debits on local shares: admitted / refused |',
  '|---|---|---|---|---|---|---|---|---|---|',
  ...overspendRows.map((r) => `| ${r.policy} | ${r.healthy} (${r.healthyStoreErrors}) | ${r.slowed} | ${r.stopped} | ${r.total} | ${r.overspend} (${((100 * r.overspend) / r.capacity).toFixed(0)} %) | ${r.seen.join(', ')} | ${r.policy === 'open' ? r.localBound.toFixed(1) : 'none'} | ${r.leftAtOutage} → ${r.leftAfter} | ${r.policy === 'open' ? `${r.fallbackAdmitted} / ${r.fallbackRefused}` : 'none'} |`),
].join('\n');
report('budget', `Budgets in Upstash Redis under load: debit latency by REST client, overspend by on_store_error (${driver})`, `${latencyTable}\n\n${overspendTable}`, { machine, latency: latencyRows, latencyRounds, overspend: overspendRows });
process.exit(0);
