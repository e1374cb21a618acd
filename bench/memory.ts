import { fork, type ChildProcess } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { parse, stringify } from 'yaml';
import { loadConfig } from '../gateway/config.js';
import { gatewayEnv } from '../gateway/env.js';
import { startGateway } from '../gateway/gateway.js';
import { devJwtSecret } from '../gateway/tokens.js';
import { setLogLevels } from '../runtime/logger.js';
import { report } from './report.js';

// `npm run bench -- --only memory [--keys 1000000 --every 100000 --concurrency 256 --kinds addresses,tenants,operations]`:
// is the gateway's memory bounded under a flood of distinct keys? A gateway in a process of its own (node
// --expose-gc), over stub subgraphs in this one that answer at once (what is measured is the gateway's memory, not
// the subgraphs'), is fed `keys` requests, each with a key it has never seen, the kinds in turn:
//   addresses   an anonymous catalog read from another X-Forwarded-For address (rate_limits.anonymous.client_key:
//               x-forwarded-for): a memory bucket each (memory.rate_limit_buckets);
//   tenants     the same read with a valid token for a tenant the directory does not know: a directory miss each,
//               answered 403 (memory.unknown_tenant_entries);
//   operations  a new operation text, registered by APQ (hash and body): a persisted document, a parsed document,
//               a query plan, a cost tree and an estimate each (memory.persisted_query_bytes, document_bytes,
//               query_plan_bytes, cost_estimate_bytes).
// Every `every` keys the flood pauses until its requests are answered, and the gateway process reports its RSS and
// its heap used after two full garbage collections, and /metrics what each cache holds
// (geofed_memory_cache_entries). Flat once the bounds fill is the result to look for.
const { values } = parseArgs({
  allowPositionals: true,
  strict: false,
  options: {
    keys: { type: 'string', default: '1000000' },
    every: { type: 'string', default: '100000' },
    concurrency: { type: 'string', default: '256' },
    kinds: { type: 'string', default: 'addresses,tenants,operations' },
    // Internal: this file as the gateway's process, serving the config at this path.
    serve: { type: 'string' },
  },
});

interface MemorySample {
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly externalBytes: number;
}

type Kind = 'addresses' | 'tenants' | 'operations';

interface Row {
  readonly keys: number;
  readonly rssMiB: number;
  readonly heapUsedMiB: number;
  readonly externalMiB: number;
  /** Requests a second over the last `every` keys. */
  readonly rate: number;
  /** Answers by kind and HTTP status since the flood began. */
  readonly statuses: Record<string, Record<string, number>>;
  /** Tenants-directory lookups the stub directory answered since the flood began. */
  readonly directoryLookups: number;
  /** geofed_memory_cache_entries by cache, from the gateway's /metrics. */
  readonly entries: Record<string, number>;
}

async function main(): Promise<void> {
  const keys = Number(values.keys);
  const every = Number(values.every);
  const concurrency = Number(values.concurrency);
  const kinds = String(values.kinds).split(',') as Kind[];

  const stub = await stubSubgraphs();
  const configPath = benchConfig(stub.url);
  const rows: Row[] = [];
  const started = Date.now();
  const gateway = await gatewayProcess(configPath);
  const pool = new Pool(gateway.url, { connections: concurrency, pipelining: 1 });
  const statuses: Record<string, Record<string, number>> = Object.fromEntries(kinds.map((kind) => [kind, {}]));
  try {
    const sample = async (at: number, rate: number) => {
      const memory = await gateway.sample();
      const row: Row = {
        keys: at,
        rssMiB: mib(memory.rssBytes),
        heapUsedMiB: mib(memory.heapUsedBytes),
        externalMiB: mib(memory.externalBytes),
        rate,
        statuses: structuredClone(statuses),
        directoryLookups: stub.lookups(),
        entries: await cacheEntries(gateway.url),
      };
      rows.push(row);
      console.log(`${at}: rss ${row.rssMiB} MiB, heap ${row.heapUsedMiB} MiB, ${rate}/s, ${JSON.stringify(statuses)}, ${row.directoryLookups} lookups, ${JSON.stringify(row.entries)}`);
    };
    // A thousand requests with keys the flood does not use, so that the first row is a warm gateway's.
    await send(pool, kinds, keys + 1, keys + 1_001, concurrency, Object.fromEntries(kinds.map((kind) => [kind, {}])));
    stub.resetLookups();
    await sample(0, 0);
    for (let from = 0; from < keys; from += every) {
      const to = Math.min(keys, from + every);
      const t0 = performance.now();
      await send(pool, kinds, from, to, concurrency, statuses);
      await sample(to, Math.round((to - from) / ((performance.now() - t0) / 1000)));
    }
  } finally {
    await pool.close();
    await gateway.stop();
    await stub.stop();
  }

  const config = loadConfig(configPath, {});
  const caches = ['rate_limit_buckets', 'unknown_tenants', 'persisted_queries', 'documents', 'query_plans', 'cost_estimates'];
  const lines = [
    `| keys | RSS MiB | heap used after GC MiB | ${caches.map((c) => `${c} (entries)`).join(' | ')} |`,
    `|---:|---:|---:|${caches.map(() => '---:').join('|')}|`,
    ...rows.map((r) => `| ${r.keys.toLocaleString('en-US')} | ${r.rssMiB} | ${r.heapUsedMiB} | ${caches.map((c) => (r.entries[c] ?? 0).toLocaleString('en-US')).join(' | ')} |`),
  ];
  const last = rows.at(-1)!;
  const rates = rows.slice(1).map((r) => r.rate);
  const answers = kinds.map((kind) => `${kind}: ${Object.entries(last.statuses[kind]!).map(([status, n]) => `${n.toLocaleString('en-US')} × ${status}`).join(', ')}`).join('; ');
  lines.push('');
  lines.push(`Answers: ${answers}. Tenants-directory lookups: ${last.directoryLookups.toLocaleString('en-US')} (each unknown tenant a miss). ${Math.round(rates.reduce((a, b) => a + b, 0) / rates.length)} requests/s on average, ${concurrency} at once; ${Math.round((Date.now() - started) / 1000)} s in all, Node ${process.version}.`);
  lines.push('');
  lines.push(`Bounds (memory.*, the defaults): ${Object.entries(config.memory).map(([key, value]) => `${key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)} ${value.toLocaleString('en-US')}`).join(', ')}.`);
  report('memory', `Gateway memory under a flood of ${keys.toLocaleString('en-US')} distinct keys (${kinds.join(', ')} in turn), sampled every ${every.toLocaleString('en-US')}: RSS, heap used after GC, and what each cache holds`, lines.join('\n'), { keys, every, concurrency, kinds, memory: config.memory, rows });
}

/** What each per-key cache holds, as the gateway's gauges say. */
async function cacheEntries(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Object.fromEntries([...text.matchAll(/^geofed_memory_cache_entries\{cache="([a-z_]+)"\} (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
}

function mib(bytes: number): number {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}

/** Sends the requests of keys [from, to), each of the kinds in turn, `concurrency` at once; counts the answers by kind and status. */
async function send(pool: Pool, kinds: readonly Kind[], from: number, to: number, concurrency: number, statuses: Record<string, Record<string, number>>): Promise<void> {
  let next = from;
  const worker = async () => {
    while (next < to) {
      const key = next;
      next += 1;
      const kind = kinds[key % kinds.length]!;
      const counts = statuses[kind]!;
      const { headers, body } = requestOf(kind, key);
      try {
        const answer = await pool.request({ path: '/graphql', method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
        await answer.body.dump();
        counts[answer.statusCode] = (counts[answer.statusCode] ?? 0) + 1;
      } catch (error) {
        const code = (error as { code?: string }).code ?? 'error';
        counts[code] = (counts[code] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

const catalogRead = '{ products(first: 1) { id } }';
const tokenHeader = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));

function requestOf(kind: Kind, key: number): { headers: Record<string, string>; body: string } {
  if (kind === 'addresses') return { headers: { 'x-forwarded-for': `10.${(key >> 16) & 255}.${(key >> 8) & 255}.${key & 255}` }, body: JSON.stringify({ query: catalogRead }) };
  if (kind === 'tenants') return { headers: { authorization: `Bearer ${token(`flood-${key}`)}` }, body: JSON.stringify({ query: catalogRead }) };
  const query = `query Flood${key}($n: Int) { products(first: $n) { id } }`;
  return { headers: {}, body: JSON.stringify({ query, variables: { n: 1 }, extensions: { persistedQuery: { version: 1, sha256Hash: createHash('sha256').update(query).digest('hex') } } }) };
}

/** An HS256 dev token for a tenant, signed here (jose would be the flood's bottleneck). */
function token(tenant: string): string {
  const now = Math.floor(Date.now() / 1000);
  const payload = base64url(JSON.stringify({ tenant, sub: 'usr_flood', iat: now, exp: now + 3_600 }));
  return `${tokenHeader}.${payload}.${createHmac('sha256', devJwtSecret).update(`${tokenHeader}.${payload}`).digest('base64url')}`;
}

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}

/**
 * Every subgraph of every region as one stub that answers at once: the tenants directory knows no tenant, and
 * the catalog has one product. The gateway signs its requests; the stub reads none of it.
 */
async function stubSubgraphs() {
  let lookups = 0;
  const directoryMiss = JSON.stringify({ data: { tenantDirectoryEntry: null } });
  const products = JSON.stringify({ data: { products: [{ id: 'prd_1' }] } });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const directory = Buffer.concat(chunks).includes('tenantDirectoryEntry');
      if (directory) lookups += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(directory ? directoryMiss : products);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    lookups: () => lookups,
    resetLookups: () => (lookups = 0),
    stop: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

/** supergraph.yaml with every subgraph at the stub, client keys from X-Forwarded-For, and an anonymous budget that never runs out. */
function benchConfig(stubUrl: string): string {
  const file = parse(readFileSync('supergraph.yaml', 'utf8')) as Record<string, Record<string, unknown>> & { subgraphs: Record<string, { urls: Record<string, string>; schema: { file: string }; routing_url: string }> };
  for (const subgraph of Object.values(file.subgraphs)) {
    subgraph.routing_url = stubUrl;
    subgraph.urls = Object.fromEntries(Object.keys(subgraph.urls).map((region) => [region, stubUrl]));
    subgraph.schema = { file: resolve(subgraph.schema.file) };
  }
  file.supergraph = resolve('schema/supergraph.graphql') as never;
  file.routing = { ...file.routing, remote_execution: 'fetch' };
  // The operations flood comes from one address: its bucket must not refuse it before planning.
  file.rate_limits = { ...file.rate_limits, anonymous: { capacity: 1e12, refill_per_second: 1e9, client_key: 'x-forwarded-for' } };
  const path = join(mkdtempSync(join(tmpdir(), 'geofed-memory-bench-')), 'supergraph.yaml');
  writeFileSync(path, stringify(file));
  return path;
}

/** A gateway in a process of its own, with --expose-gc; `sample()` asks it for its memory after two full GCs. */
async function gatewayProcess(configPath: string) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('UPSTASH_')));
  const child: ChildProcess = fork('bench/memory.ts', ['--serve', configPath], { execArgv: ['--expose-gc', '--import', 'tsx'], env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = <T>() =>
    new Promise<T>((done, fail) => {
      const onExit = (code: number | null) => fail(new Error(`the gateway process exited with ${code}`));
      child.once('exit', onExit);
      child.once('message', (message) => {
        child.off('exit', onExit);
        done(message as T);
      });
    });
  const { url } = await next<{ url: string }>();
  return {
    url,
    sample: () => {
      const answer = next<MemorySample>();
      child.send('sample');
      return answer;
    },
    stop: () =>
      new Promise<void>((done) => {
        child.once('exit', () => done());
        child.send('stop');
      }),
  };
}

if (values.serve !== undefined) {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('the gateway process needs --expose-gc');
  setLogLevels({ log: 'error', audit: 'silent' });
  // Dev secrets and no Upstash: every store in this process's memory.
  const gateway = await startGateway({ config: loadConfig(String(values.serve), {}), env: gatewayEnv({}), port: 0 });
  process.on('message', (message: string) => {
    if (message === 'sample') {
      gc();
      gc();
      const usage = process.memoryUsage();
      process.send!({ rssBytes: usage.rss, heapUsedBytes: usage.heapUsed, externalBytes: usage.external } satisfies MemorySample);
    } else if (message === 'stop') {
      void gateway.stop().then(() => process.exit(0));
    }
  });
  process.send!({ url: gateway.url });
} else {
  await main();
}
