import { describe, expect, it } from 'vitest';
import { FetchAbandoned, FetchLimiter, FetchShed, type FetchLimiterSettings, type FetchPermit } from '../gateway/fetch-limiter.js';
import { FakeClock, settle, track } from './fixtures/fake-clock.js';

function limiterOf(settings: Partial<FetchLimiterSettings> = {}) {
  const clock = new FakeClock();
  const limiter = new FetchLimiter({ maxInFlight: 2, maxQueue: 10, queueTimeoutMs: 100, maxShare: 1, ...settings }, { clock });
  return { clock, limiter };
}

const reasonOf = (tracked: { error?: unknown }) => (tracked.error instanceof FetchShed ? tracked.error.reason : tracked.error instanceof FetchAbandoned ? 'abandoned' : tracked.error);

describe('FetchLimiter', () => {
  it('starts fetches while slots are free, queues the next, and hands a released slot on once', async () => {
    const { clock, limiter } = limiterOf();
    const first = track(limiter.acquire('a'));
    const second = track(limiter.acquire('b'));
    const third = track(limiter.acquire('c'));
    await settle();
    expect([first.state, second.state, third.state]).toEqual(['resolved', 'resolved', 'pending']);
    expect(limiter.load).toEqual({ inFlight: 2, queued: 1 });
    expect(first.value!.waitedMs).toBe(0);

    clock.advance(30);
    first.value!.release();
    first.value!.release();
    await settle();
    expect(third.state).toBe('resolved');
    expect(third.value!.waitedMs).toBe(30);
    // The double release freed one slot, not two.
    expect(limiter.load).toEqual({ inFlight: 2, queued: 0 });
    const fourth = track(limiter.acquire('d'));
    await settle();
    expect(fourth.state).toBe('pending');
  });

  it('sheds a fetch that gets no slot within the queue deadline, and forgets it', async () => {
    const { clock, limiter } = limiterOf({ maxInFlight: 1 });
    const holder = await limiter.acquire('a');
    const waiting = track(limiter.acquire('b'));
    clock.advance(99);
    await settle();
    expect(waiting.state).toBe('pending');
    clock.advance(1);
    await settle();
    expect([waiting.state, reasonOf(waiting)]).toEqual(['rejected', 'queue_timeout']);
    expect(limiter.load).toEqual({ inFlight: 1, queued: 0 });
    holder.release();
    expect(limiter.load).toEqual({ inFlight: 0, queued: 0 });
    expect(clock.pending).toBe(0);
  });

  it('caps one key at its share of the slots, even while other slots are free', async () => {
    const { limiter } = limiterOf({ maxInFlight: 4, maxShare: 0.5 });
    expect(limiter.perKeyLimit).toBe(2);
    const a1 = await limiter.acquire('tenant:a');
    await limiter.acquire('tenant:a');
    const a3 = track(limiter.acquire('tenant:a'));
    const b1 = track(limiter.acquire('tenant:b'));
    await settle();
    expect([a3.state, b1.state]).toEqual(['pending', 'resolved']);
    expect([limiter.inFlightOf('tenant:a'), limiter.inFlightOf('tenant:b'), limiter.queuedOf('tenant:a')]).toEqual([2, 1, 1]);
    // A slot of b frees nothing for a: a is at its share.
    b1.value!.release();
    await settle();
    expect(a3.state).toBe('pending');
    a1.release();
    await settle();
    expect(a3.state).toBe('resolved');
  });

  it('gives every key at least one slot, whatever the share', () => {
    expect(new FetchLimiter({ maxInFlight: 3, maxQueue: 0, queueTimeoutMs: 1, maxShare: 0.1 }).perKeyLimit).toBe(1);
    expect(new FetchLimiter({ maxInFlight: 3, maxQueue: 0, queueTimeoutMs: 1, maxShare: 1 }).perKeyLimit).toBe(3);
  });

  it('serves waiting keys round-robin, not first come first served across keys', async () => {
    const { limiter } = limiterOf({ maxInFlight: 1 });
    let holder: FetchPermit = await limiter.acquire('x');
    const order: string[] = [];
    const wait = (key: string, name: string) =>
      limiter.acquire(key).then((permit) => {
        order.push(name);
        holder = permit;
      });
    const all = [wait('a', 'a1'), wait('a', 'a2'), wait('a', 'a3'), wait('b', 'b1'), wait('c', 'c1'), wait('a', 'a4'), wait('b', 'b2')];
    for (let i = 0; i < all.length; i += 1) {
      holder.release();
      await settle();
    }
    await Promise.all(all);
    expect(order).toEqual(['a1', 'b1', 'c1', 'a2', 'b2', 'a3', 'a4']);
  });

  it('sheds when the queue is full, making room from the longest queue for a key that has few waiting', async () => {
    const { limiter } = limiterOf({ maxInFlight: 1, maxQueue: 3 });
    await limiter.acquire('holder');
    const flood = [track(limiter.acquire('flood')), track(limiter.acquire('flood')), track(limiter.acquire('flood'))];
    const overflow = track(limiter.acquire('flood'));
    await settle();
    expect([overflow.state, reasonOf(overflow)]).toEqual(['rejected', 'queue_full']);
    // Another key gets a place: the flood's newest waiter is shed for it.
    const other = track(limiter.acquire('other'));
    await settle();
    expect([other.state, flood.map((f) => f.state)]).toEqual(['pending', ['pending', 'pending', 'rejected']]);
    expect(reasonOf(flood[2]!)).toBe('queue_full');
    expect([limiter.queuedOf('flood'), limiter.queuedOf('other')]).toEqual([2, 1]);
    // And a second one of that key too (2 > 1 + 1 is false: the queues are now even enough).
    const otherAgain = track(limiter.acquire('other'));
    await settle();
    expect([otherAgain.state, reasonOf(otherAgain), limiter.load.queued]).toEqual(['rejected', 'queue_full', 3]);
  });

  it('with max_queue 0 sheds at once whatever cannot start', async () => {
    const { limiter } = limiterOf({ maxInFlight: 1, maxQueue: 0 });
    await limiter.acquire('a');
    const shed = track(limiter.acquire('b'));
    await settle();
    expect([shed.state, reasonOf(shed)]).toEqual(['rejected', 'queue_full']);
  });

  it('lets a waiter whose client went away leave the queue, and refuses one already gone', async () => {
    const { clock, limiter } = limiterOf({ maxInFlight: 1 });
    const holder = await limiter.acquire('a');
    const client = new AbortController();
    const waiting = track(limiter.acquire('b', client.signal));
    const next = track(limiter.acquire('c'));
    client.abort();
    await settle();
    expect([waiting.state, reasonOf(waiting), limiter.load.queued]).toEqual(['rejected', 'abandoned', 1]);
    holder.release();
    await settle();
    expect(next.state).toBe('resolved');
    expect(clock.pending).toBe(0);
    const gone = track(limiter.acquire('d', AbortSignal.abort()));
    await settle();
    expect([gone.state, reasonOf(gone), limiter.load]).toEqual(['rejected', 'abandoned', { inFlight: 1, queued: 0 }]);
  });

  it('reports its load on every change', async () => {
    const loads: string[] = [];
    const limiter = new FetchLimiter({ maxInFlight: 1, maxQueue: 1, queueTimeoutMs: 100, maxShare: 1 }, { clock: new FakeClock(), onLoad: (l) => loads.push(`${l.inFlight}/${l.queued}`) });
    const first = await limiter.acquire('a');
    const second = limiter.acquire('b');
    first.release();
    (await second).release();
    expect(loads).toEqual(['1/0', '1/1', '1/0', '0/0']);
  });
});
