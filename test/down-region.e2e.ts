import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricValue } from './fixtures/metrics.js';
import { devToken, postGraphQL, startTestStack, type TestStack } from './fixtures/stack.js';
import { waitFor } from './fixtures/wait.js';

// A tenant's home region goes down: REGION_UNAVAILABLE within the fetch deadline, never another region;
// the circuit breaker then fails fast, and lets traffic back once the region returns.
const timeoutMs = 500;
const openMs = 800;
let t: TestStack;
let acme: string;
let globex: string;

beforeAll(async () => {
  t = await startTestStack('postgres', {
    configure: (config) => ({ ...config, gateway: { ...config.gateway, subgraphTimeoutMs: timeoutMs }, circuitBreaker: { failureThreshold: 3, openMs } }),
  });
  acme = await devToken('acme', 'usr_acme_1');
  globex = await devToken('globex', 'usr_globex_1');
});
afterAll(async () => {
  await t?.stop();
});

const query = '{ me { name orders(first: 2) { totalCents } } }';
async function timed(token: string) {
  const started = performance.now();
  const result = await postGraphQL(t.graphqlUrl, query, { token });
  return { ...result, ms: performance.now() - started };
}
const otherRegionCounts = () => t.stack.subgraphs.filter((s) => s.name !== 'catalog' && s.region !== 'eu').map((s) => `${s.name}@${s.region}=${s.requestCount()}`);
/** Fetches the breaker let through to users in eu (an open breaker refuses without fetching, so none is counted). */
const usersEuFetches = async () =>
  (await metricValue(t.stack.gateway.url, 'geofed_subgraph_fetch_duration_seconds_count{subgraph="users",region="eu",outcome="error"}')) +
  (await metricValue(t.stack.gateway.url, 'geofed_subgraph_fetch_duration_seconds_count{subgraph="users",region="eu",outcome="ok"}'));
/** Retries acme's query until the breaker lets one through to eu (its trial request after open_ms), and returns that one. */
async function firstAdmitted() {
  return waitFor(
    async () => {
      const before = await usersEuFetches();
      const result = await timed(acme);
      return { result, admitted: (await usersEuFetches()) > before };
    },
    { until: (probe) => probe.admitted, timeoutMs: openMs * 10, intervalMs: 50, what: 'the breaker to let a trial request through' },
  ).then((probe) => probe.result);
}

/** A server that accepts connections and never answers: a region that hangs rather than refuses. */
async function blackHole(port: number): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe('a region goes down', () => {
  it('fails that region\'s tenants fast with REGION_UNAVAILABLE, never elsewhere, and recovers', async () => {
    expect((await timed(acme)).status).toBe(200);
    const usersPort = Number(new URL(t.stack.subgraph('users', 'eu').url).port);
    await t.stack.stopRegion('eu');
    const before = otherRegionCounts();

    const refused = [];
    for (let i = 0; i < 5; i += 1) refused.push(await timed(acme));
    for (const result of refused) {
      expect(result.status).toBe(503);
      expect(result.body.errors?.map((e) => e.extensions?.code)).toEqual(['REGION_UNAVAILABLE']);
      expect(JSON.stringify(result.body)).not.toMatch(/127\.0\.0\.1|http:/);
    }
    expect(otherRegionCounts(), 'no fallback to another region').toEqual(before);
    const other = await timed(globex);
    expect(other.status).toBe(200);
    expect(other.headers.get('x-geofed-data-region')).toBe('us');

    // The breaker's trial request meets a region that hangs: it ends at the fetch deadline.
    const hole = await blackHole(usersPort);
    const hung = await firstAdmitted();
    const afterHang = await timed(acme);
    await hole.close();
    expect(hung.status).toBe(503);
    expect(hung.ms).toBeGreaterThanOrEqual(timeoutMs - 50);
    expect(hung.ms).toBeLessThan(timeoutMs + 1_500);
    expect(afterHang.status).toBe(503);
    expect(afterHang.ms, 'the breaker reopened: no second wait').toBeLessThan(timeoutMs);

    await t.stack.startRegion('eu');
    const back = await firstAdmitted();
    expect(back.status).toBe(200);
    expect(back.headers.get('x-geofed-data-region')).toBe('eu');
    expect((await timed(acme)).status).toBe(200);
    console.log(
      `down region: refused fetches ${refused.map((r) => r.ms.toFixed(1)).join(', ')} ms (breaker open after 3); ` +
        `hung region ${hung.ms.toFixed(0)} ms (deadline ${timeoutMs} ms), then ${afterHang.ms.toFixed(1)} ms with the breaker open`,
    );
  });
});
