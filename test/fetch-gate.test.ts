import type { Fetcher, FetcherRequestInit, FetcherResponse } from '@apollo/utils.fetcher';
import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../gateway/circuit-breaker.js';
import { FetchDedup } from '../gateway/fetch-dedup.js';
import { BreakerRefused, gatedFetcher, inFetchScope, type FetchScope } from '../gateway/fetch-gate.js';
import { FetchAbandoned, FetchLimiter, FetchShed, type FetchLimiterSettings } from '../gateway/fetch-limiter.js';
import { GatewayMetrics } from '../gateway/metrics.js';
import { FakeClock, settle, track } from './fixtures/fake-clock.js';

// The gated fetcher of one subgraph × region over a fake subgraph whose every answer the test gives by hand:
// what reaches the subgraph, what is shed, and what the breaker (threshold 1: one counted failure opens it) hears.

function response(status: number, body: unknown): FetcherResponse {
  const text = JSON.stringify(body);
  const make = (): FetcherResponse => ({
    ok: status >= 200 && status < 300,
    status,
    statusText: '',
    url: 'http://subgraph/graphql',
    redirected: false,
    bodyUsed: false,
    headers: new Headers(),
    text: async () => text,
    json: async () => JSON.parse(text) as unknown,
    arrayBuffer: async () => new TextEncoder().encode(text).buffer as ArrayBuffer,
    clone: make,
  });
  return make();
}
const ok = () => response(200, { data: { products: [] } });

/** A subgraph that answers when told: every call waits for `answer` or `fail`. */
function fakeSubgraph() {
  const calls: { init: FetcherRequestInit; answer(r?: FetcherResponse): void; fail(error: Error): void }[] = [];
  const fetcher: Fetcher = (_url, init = {}) =>
    new Promise<FetcherResponse>((resolve, reject) => {
      calls.push({ init, answer: (r = ok()) => resolve(r), fail: reject });
    });
  return { calls, fetcher };
}

function gateOf(settings: Partial<FetchLimiterSettings> = {}, { dedup = false }: { dedup?: boolean } = {}) {
  const clock = new FakeClock();
  const limiter = new FetchLimiter({ maxInFlight: 1, maxQueue: 1, queueTimeoutMs: 100, maxShare: 1, ...settings }, { clock });
  const breaker = new CircuitBreaker({ failureThreshold: 1, openMs: 1_000, now: () => clock.now() });
  const subgraph = fakeSubgraph();
  const metrics = new GatewayMetrics({ processMetrics: false });
  const fetcher = gatedFetcher({ subgraph: 'catalog', region: 'us', limiter, dedup: dedup ? new FetchDedup() : undefined, breaker, metrics, inner: subgraph.fetcher });
  const body = '{"query":"{ products(first: 1) { id } }"}';
  const fetch = (scope: Partial<FetchScope> & { headers?: Record<string, string> } = {}) =>
    track(inFetchScope({ key: 'client:10.0.0.1', shareable: true, signal: undefined, ...scope }, () => fetcher('http://subgraph/graphql', { method: 'POST', headers: { 'content-type': 'application/json', ...scope.headers }, body })));
  return { clock, limiter, breaker, subgraph, fetch, fetcher, body };
}

const kindOf = (tracked: { error?: unknown }) =>
  tracked.error instanceof FetchShed ? tracked.error.reason : tracked.error instanceof FetchAbandoned ? 'abandoned' : tracked.error instanceof BreakerRefused ? 'breaker' : tracked.error;

describe('the gated fetcher: limits', () => {
  it('sends at most max_in_flight, starting a queued fetch only once a slot frees', async () => {
    const { subgraph, fetch } = gateOf();
    const first = fetch();
    const second = fetch();
    await settle();
    expect(subgraph.calls).toHaveLength(1);
    subgraph.calls[0]!.answer();
    await settle();
    expect(first.state).toBe('resolved');
    // The queued fetch is sent now, so its own deadline (the subgraph fetcher's) starts now, not when it queued.
    expect(subgraph.calls).toHaveLength(2);
    subgraph.calls[1]!.answer();
    await settle();
    expect(second.state).toBe('resolved');
  });

  it('never counts shed fetches, full queue or deadline, against the breaker', async () => {
    const { clock, breaker, subgraph, fetch } = gateOf();
    const sent = fetch();
    const flood = Array.from({ length: 20 }, () => fetch());
    await settle();
    expect(flood.filter((f) => kindOf(f) === 'queue_full')).toHaveLength(19);
    clock.advance(100);
    await settle();
    expect(kindOf(flood[0]!)).toBe('queue_timeout');
    expect(subgraph.calls).toHaveLength(1);
    expect(breaker.state).toBe('closed');
    subgraph.calls[0]!.answer();
    await settle();
    expect([sent.state, breaker.state]).toEqual(['resolved', 'closed']);
  });

  it('opens the breaker on the subgraph\'s own failure, a transport error or an answer that is not GraphQL', async () => {
    const transport = gateOf();
    const failed = transport.fetch();
    await settle();
    transport.subgraph.calls[0]!.fail(Object.assign(new Error('timeout'), { code: 'UND_ERR_HEADERS_TIMEOUT' }));
    await settle();
    expect([failed.state, transport.breaker.state]).toEqual(['rejected', 'open']);
    const refused = transport.fetch();
    await settle();
    expect([kindOf(refused), transport.subgraph.calls.length]).toEqual(['breaker', 1]);

    const bad = gateOf();
    const answered = bad.fetch();
    await settle();
    bad.subgraph.calls[0]!.answer(response(502, '<html>bad gateway</html>'));
    await settle();
    expect([answered.state, bad.breaker.state]).toEqual(['resolved', 'open']);
  });

  it('counts a coded refusal as the subgraph answering', async () => {
    const { breaker, subgraph, fetch } = gateOf();
    const refused = fetch();
    await settle();
    subgraph.calls[0]!.answer(response(401, { errors: [{ message: 'bad signature', extensions: { code: 'UNAUTHENTICATED' } }] }));
    await settle();
    expect([refused.state, breaker.state]).toEqual(['resolved', 'closed']);
  });

  it('counts a refusal of the gateway\'s own signature as a failure: a misconfiguration fails every fetch', async () => {
    const { breaker, subgraph, fetch } = gateOf();
    const refused = fetch();
    await settle();
    subgraph.calls[0]!.answer(response(401, { errors: [{ message: 'Refused: the signature does not match.', extensions: { code: 'GATEWAY_SIGNATURE_REFUSED' } }] }));
    await settle();
    expect([refused.state, breaker.state]).toEqual(['resolved', 'open']);
  });

  it('never counts an abandoned fetch: queued when its client left, or failing after it left', async () => {
    const { breaker, subgraph, fetch, limiter } = gateOf();
    const leaving = new AbortController();
    const inFlight = fetch({ signal: leaving.signal });
    const queuedClient = new AbortController();
    const queued = fetch({ signal: queuedClient.signal });
    await settle();
    queuedClient.abort();
    await settle();
    expect([kindOf(queued), limiter.load]).toEqual(['abandoned', { inFlight: 1, queued: 0 }]);
    leaving.abort();
    // The fetch was sent: it keeps its slot until the subgraph answers, and it was told of the abort.
    expect(subgraph.calls[0]!.init.signal).toBe(leaving.signal);
    subgraph.calls[0]!.fail(new Error('aborted'));
    await settle();
    expect([kindOf(inFlight), breaker.state, limiter.load.inFlight]).toEqual(['abandoned', 'closed', 0]);
  });

  it('lets the next fetch be the trial when a half-open trial is abandoned', async () => {
    const { clock, breaker, subgraph, fetch } = gateOf();
    const failing = fetch();
    await settle();
    subgraph.calls[0]!.fail(new Error('connection reset'));
    await settle();
    expect([failing.state, breaker.state]).toEqual(['rejected', 'open']);
    clock.advance(1_000);
    const client = new AbortController();
    const trial = fetch({ signal: client.signal });
    await settle();
    expect(subgraph.calls).toHaveLength(2);
    client.abort();
    subgraph.calls[1]!.fail(new Error('aborted'));
    await settle();
    expect([kindOf(trial), breaker.state]).toEqual(['abandoned', 'half-open']);
    const next = fetch();
    await settle();
    expect(subgraph.calls).toHaveLength(3);
    subgraph.calls[2]!.answer();
    await settle();
    expect([next.state, breaker.state]).toEqual(['resolved', 'closed']);
  });

  it('takes no slot for a fetch without a scope (schema loads, health checks)', async () => {
    const { subgraph, fetch, fetcher } = gateOf({ maxQueue: 0 });
    fetch();
    await settle();
    const system = track(fetcher('http://subgraph/graphql', { method: 'POST', body: '{"query":"{ _service { sdl } }"}' }));
    await settle();
    expect(subgraph.calls).toHaveLength(2);
    subgraph.calls[1]!.answer();
    await settle();
    expect(system.state).toBe('resolved');
  });
});

describe('the gated fetcher: deduplication', () => {
  it('sends one fetch for identical fetches of one caller, each reading its own copy', async () => {
    const { subgraph, fetch } = gateOf({ maxInFlight: 4 }, { dedup: true });
    const a = fetch({ headers: { 'x-geofed-tenant': 'acme', 'x-geofed-user': 'u1' }, key: 'tenant:acme' });
    const b = fetch({ headers: { 'x-geofed-tenant': 'acme', 'x-geofed-user': 'u1' }, key: 'tenant:acme' });
    await settle();
    expect(subgraph.calls).toHaveLength(1);
    subgraph.calls[0]!.answer();
    await settle();
    expect([a.state, b.state]).toEqual(['resolved', 'resolved']);
    expect(a.value).not.toBe(b.value);
    expect(await a.value!.json()).toEqual(await b.value!.json());
    // Nothing is kept: the next identical fetch is sent.
    fetch({ headers: { 'x-geofed-tenant': 'acme', 'x-geofed-user': 'u1' }, key: 'tenant:acme' });
    await settle();
    expect(subgraph.calls).toHaveLength(2);
  });

  it('never shares across callers (tenant, user, roles, region, consistency token, client address) nor for a mutation', async () => {
    const { subgraph, fetch } = gateOf({ maxInFlight: 10 }, { dedup: true });
    const acme = { 'x-geofed-tenant': 'acme', 'x-geofed-user': 'u1', 'x-geofed-region': 'eu' };
    fetch({ headers: acme, key: 'tenant:acme' });
    fetch({ headers: { ...acme, 'x-geofed-tenant': 'globex' }, key: 'tenant:globex' });
    fetch({ headers: { ...acme, 'x-geofed-user': 'u2' }, key: 'tenant:acme' });
    fetch({ headers: { ...acme, 'x-geofed-roles': 'admin' }, key: 'tenant:acme' });
    fetch({ headers: { ...acme, 'x-geofed-region': 'us' }, key: 'tenant:acme' });
    fetch({ headers: { ...acme, 'x-geofed-consistency': '0/16B3748' }, key: 'tenant:acme' });
    fetch({ headers: acme, key: 'tenant:acme', shareable: false });
    fetch({ key: 'client:10.0.0.1' });
    fetch({ key: 'client:10.0.0.2' });
    await settle();
    expect(subgraph.calls).toHaveLength(9);
  });

  it('keeps a shared fetch for the callers that stay, and abandons it when the last one leaves', async () => {
    const { subgraph, fetch } = gateOf({ maxInFlight: 4 }, { dedup: true });
    const first = new AbortController();
    const second = new AbortController();
    const a = fetch({ signal: first.signal });
    const b = fetch({ signal: second.signal });
    const c = fetch();
    await settle();
    expect(subgraph.calls).toHaveLength(1);
    first.abort();
    await settle();
    expect([kindOf(a), subgraph.calls[0]!.init.signal.aborted]).toEqual(['abandoned', false]);
    subgraph.calls[0]!.answer();
    await settle();
    expect([b.state, c.state]).toEqual(['resolved', 'resolved']);

    const alone = new AbortController();
    const d = fetch({ signal: alone.signal });
    await settle();
    alone.abort();
    await settle();
    expect([kindOf(d), subgraph.calls[1]!.init.signal.aborted]).toEqual(['abandoned', true]);
    // A later identical fetch does not join the abandoned one.
    fetch();
    await settle();
    expect(subgraph.calls).toHaveLength(3);
  });

  it('sheds the followers of a shed fetch with it, and counts nothing against the breaker', async () => {
    const { clock, breaker, subgraph, fetch } = gateOf({}, { dedup: true });
    fetch({ headers: { 'x-geofed-tenant': 'other' }, key: 'tenant:other' });
    const queued = [fetch(), fetch(), fetch()];
    await settle();
    clock.advance(100);
    await settle();
    expect(queued.map(kindOf)).toEqual(['queue_timeout', 'queue_timeout', 'queue_timeout']);
    expect([subgraph.calls.length, breaker.state]).toEqual([1, 'closed']);
  });
});

describe('CircuitBreaker admissions', () => {
  it('forgets a released request, and counts each admission once', () => {
    const clock = { ms: 0 };
    const breaker = new CircuitBreaker({ failureThreshold: 2, openMs: 1_000, now: () => clock.ms });
    const first = breaker.admit()!;
    first.failed();
    first.failed();
    expect(breaker.state).toBe('closed');
    breaker.admit()!.released();
    expect(breaker.state).toBe('closed');
    breaker.admit()!.failed();
    expect([breaker.state, breaker.admit()]).toEqual(['open', undefined]);
    clock.ms += 1_000;
    const trial = breaker.admit()!;
    expect([trial.trial, breaker.admit()]).toEqual([true, undefined]);
    trial.released();
    const next = breaker.admit()!;
    expect(next.trial).toBe(true);
    next.succeeded();
    expect(breaker.state).toBe('closed');
  });
});
