import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricValue } from './fixtures/metrics.js';
import { devToken, postGraphQL, startTestStack, type TestStack } from './fixtures/stack.js';
import { waitFor } from './fixtures/wait.js';

// A tenant's home region goes down: REGION_UNAVAILABLE, never another region; the circuit breaker then
// fails fast (requests it refuses are never sent), a region that hangs is given up at the fetch deadline,
// and traffic goes back once the region returns. What is checked is where each request went, never how long
// it took: speed belongs in the benchmarks.
const timeoutMs = 500;
const failureThreshold = 3;
// Long enough that a refusal is never mistaken for the trial of a breaker that half-opened on a busy machine.
const openMs = 1_500;
let t: TestStack;
let acme: string;
let globex: string;

beforeAll(async () => {
  t = await startTestStack('postgres', {
    configure: (config) => ({ ...config, gateway: { ...config.gateway, subgraphTimeoutMs: timeoutMs }, circuitBreaker: { failureThreshold, openMs } }),
  });
  acme = await devToken('acme', 'usr_acme_1');
  globex = await devToken('globex', 'usr_globex_1');
});
afterAll(async () => {
  await t?.stop();
});

const query = '{ me { name orders(first: 2) { totalCents } } }';
const ask = (token: string) => postGraphQL(t.graphqlUrl, query, { token });
const codes = (result: Awaited<ReturnType<typeof ask>>) => result.body.errors?.map((e) => e.extensions?.code);
const otherRegionCounts = () => t.stack.subgraphs.filter((s) => s.name !== 'catalog' && s.region !== 'eu').map((s) => `${s.name}@${s.region}=${s.requestCount()}`);
const usersEu = (outcome: 'ok' | 'error') => metricValue(t.stack.gateway.url, `geofed_subgraph_fetch_duration_seconds_count{subgraph="users",region="eu",outcome="${outcome}"}`);
/** Fetches the breaker let through to users in eu (an open breaker refuses without fetching, so none is counted). */
const usersEuFetches = async () => (await usersEu('error')) + (await usersEu('ok'));
/** Retries acme's query until the breaker lets one through to eu (its trial request after open_ms), and returns that one. */
async function firstAdmitted() {
  return waitFor(
    async () => {
      const before = await usersEuFetches();
      const result = await ask(acme);
      return { result, admitted: (await usersEuFetches()) > before };
    },
    { until: (probe) => probe.admitted, timeoutMs: openMs * 10, intervalMs: 50, what: 'the breaker to let a trial request through' },
  ).then((probe) => probe.result);
}

/**
 * A server that accepts connections, reads and never answers: a region that hangs rather than refuses. It counts
 * the requests it received (connections that carried data) and those whose connection the client closed.
 */
async function blackHole(port: number): Promise<{ requests(): number; abandoned(): number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let requests = 0;
  let abandoned = 0;
  let closing = false;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('data', () => {
      requests += 1;
      socket.once('close', () => {
        if (!closing) abandoned += 1;
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    requests: () => requests,
    abandoned: () => abandoned,
    close: () => {
      closing = true;
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe('a region goes down', () => {
  it('fails that region\'s tenants fast with REGION_UNAVAILABLE, never elsewhere, and recovers', async () => {
    expect((await ask(acme)).status).toBe(200);
    const usersPort = Number(new URL(t.stack.subgraph('users', 'eu').url).port);
    await t.stack.stopRegion('eu');
    const before = otherRegionCounts();
    const sentBefore = await usersEuFetches();

    const refused = [];
    for (let i = 0; i < 5; i += 1) refused.push(await ask(acme));
    for (const result of refused) {
      expect(result.status).toBe(503);
      expect(codes(result)).toEqual(['REGION_UNAVAILABLE']);
      expect(JSON.stringify(result.body)).not.toMatch(/127\.0\.0\.1|http:/);
    }
    // Fast failure is the breaker's: after failure_threshold failed fetches it answers without sending one.
    expect((await usersEuFetches()) - sentBefore, 'fetches sent to the down region: the breaker opened after the threshold').toBe(failureThreshold);
    expect(otherRegionCounts(), 'no fallback to another region').toEqual(before);
    const other = await ask(globex);
    expect(other.status).toBe(200);
    expect(other.headers.get('x-geofed-data-region')).toBe('us');

    // The breaker's trial request meets a region that hangs: the gateway gives up on it at the fetch deadline
    // (it closes the connection, and counts a failed fetch), and the breaker opens again.
    const hole = await blackHole(usersPort);
    try {
      const failedBefore = await usersEu('error');
      const hung = await firstAdmitted();
      expect(hung.status).toBe(503);
      expect(codes(hung)).toEqual(['REGION_UNAVAILABLE']);
      expect(await usersEu('error'), 'the hung trial counted as a failed fetch').toBe(failedBefore + 1);
      expect(hole.requests(), 'the trial reached the hung region').toBe(1);
      await waitFor(() => hole.abandoned(), { until: (closed) => closed === 1, what: 'the gateway to close the hung request\'s connection' });

      const sentAtReopen = await usersEuFetches();
      const afterHang = await ask(acme);
      expect(afterHang.status).toBe(503);
      expect(codes(afterHang)).toEqual(['REGION_UNAVAILABLE']);
      expect(await usersEuFetches(), 'the breaker reopened: the next request was answered without a fetch').toBe(sentAtReopen);
      expect(hole.requests(), 'nothing more reached the hung region').toBe(1);
    } finally {
      await hole.close();
    }

    await t.stack.startRegion('eu');
    const back = await firstAdmitted();
    expect(back.status).toBe(200);
    expect(back.headers.get('x-geofed-data-region')).toBe('eu');
    expect((await ask(acme)).status).toBe(200);
  });
});
