import { createHash } from 'node:crypto';
import { request } from 'undici';
import { startNginxCache } from '../test/fixtures/nginx-cache.js';
import { startTestStack } from '../test/fixtures/stack.js';
import { percentile, report } from './report.js';

// Anonymous catalog reads through nginx in front of the gateway: a cached persisted GET, the same read
// uncached (a POST, which a CDN never caches), and the hit ratio over a mixed workload.
// `npm run bench -- --only cdn`
const t = await startTestStack('postgres', {
  configure: (config) => ({ ...config, rateLimits: { ...config.rateLimits, anonymous: { ...config.rateLimits.anonymous, capacity: 1e12, refillPerSecond: 1e9 } } }),
});
const cdn = await startNginxCache(t.stack.gateway.url);
try {
  const persistedUrl = async (query: string) => {
    const hash = createHash('sha256').update(query).digest('hex');
    const base = `${cdn.url}/graphql?${new URLSearchParams({ extensions: JSON.stringify({ persistedQuery: { version: 1, sha256Hash: hash } }) })}`;
    const register = await request(`${base}&${new URLSearchParams({ query })}`, { headers: { 'apollo-require-preflight': 'true' } });
    await register.body.dump();
    return base;
  };
  const time = async (send: () => Promise<string | undefined>, count: number) => {
    const samples: number[] = [];
    const statuses = new Map<string, number>();
    for (let i = 0; i < count; i += 1) {
      const started = process.hrtime.bigint();
      const status = (await send()) ?? 'none';
      samples.push(Number(process.hrtime.bigint() - started) / 1e6);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    samples.sort((a, b) => a - b);
    const totalMs = samples.reduce((sum, ms) => sum + ms, 0);
    return { p50: percentile(samples, 0.5), p99: percentile(samples, 0.99), rps: count / (totalMs / 1000), statuses };
  };
  const get = (url: string) => async () => {
    const response = await request(url, { headers: { 'apollo-require-preflight': 'true' } });
    await response.body.dump();
    return response.headers['x-cache-status'] as string | undefined;
  };
  const query = '{ products(first: 10) { id name priceCents } }';
  const cachedUrl = await persistedUrl(query);
  await get(cachedUrl)();
  const cached = await time(get(cachedUrl), 2000);
  const post = async () => {
    const response = await request(`${cdn.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
    await response.body.dump();
    return response.headers['x-cache-status'] as string | undefined;
  };
  const uncached = await time(post, 2000);
  // Mixed: 20 distinct catalog reads drawn with a skew (a few popular pages), plus 20% uncacheable POSTs.
  const urls = await Promise.all(Array.from({ length: 20 }, (_, i) => persistedUrl(`{ product(id: "prd_${String(i + 1).padStart(2, '0')}") { name priceCents } }`)));
  let seed = 7;
  const next = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
  const mixed = await time(async () => {
    if (next() < 0.2) return post();
    return get(urls[Math.floor(20 * next() ** 2)]!)();
  }, 3000);
  const hits = mixed.statuses.get('HIT') ?? 0;
  const rows = [
    { reads: 'cached (persisted GET, HIT)', ...cached },
    { reads: 'uncached (POST through nginx)', ...uncached },
    { reads: `mixed workload (hit ratio ${((hits / 3000) * 100).toFixed(1)}%)`, ...mixed },
  ];
  const table = ['| anonymous catalog reads through nginx | p50 ms | p99 ms | req/s (1 client) |', '|---|---|---|---|', ...rows.map((r) => `| ${r.reads} | ${r.p50.toFixed(3)} | ${r.p99.toFixed(3)} | ${r.rps.toFixed(0)} |`)].join('\n');
  report('cdn', 'CDN caching: cached vs uncached anonymous reads, and the hit ratio of a mixed workload', table, rows.map(({ statuses, ...r }) => ({ ...r, statuses: Object.fromEntries(statuses) })));
} finally {
  await cdn.stop();
  await t.stop();
}
process.exit(0);
