import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../gateway/circuit-breaker.js';

function breakerAt(start = 1_000) {
  const clock = { ms: start };
  const breaker = new CircuitBreaker({ failureThreshold: 3, openMs: 5_000, now: () => clock.ms });
  const fail = (times: number) => {
    for (let i = 0; i < times; i += 1) breaker.recordFailure();
  };
  return { breaker, clock, fail };
}

describe('CircuitBreaker', () => {
  it('stays closed below the threshold and opens at it', () => {
    const { breaker, fail } = breakerAt();
    fail(2);
    expect({ state: breaker.state, admitted: breaker.tryAcquire() }).toEqual({ state: 'closed', admitted: true });
    fail(1);
    expect({ state: breaker.state, admitted: breaker.tryAcquire() }).toEqual({ state: 'open', admitted: false });
  });

  it('fails fast for the whole open period, then turns half-open', () => {
    const { breaker, clock, fail } = breakerAt();
    fail(3);
    clock.ms += 4_999;
    expect([breaker.state, breaker.tryAcquire(), breaker.tryAcquire()]).toEqual(['open', false, false]);
    clock.ms += 1;
    expect(breaker.state).toEqual('half-open');
  });

  it('admits exactly one trial request while half-open', () => {
    const { breaker, clock, fail } = breakerAt();
    fail(3);
    clock.ms += 5_000;
    expect([breaker.tryAcquire(), breaker.tryAcquire(), breaker.tryAcquire()]).toEqual([true, false, false]);
    // Time passing does not admit a second trial while the first is out.
    clock.ms += 60_000;
    expect(breaker.tryAcquire()).toEqual(false);
  });

  it('closes when the trial succeeds', () => {
    const { breaker, clock, fail } = breakerAt();
    fail(3);
    clock.ms += 5_000;
    breaker.tryAcquire();
    breaker.recordSuccess();
    expect([breaker.state, breaker.tryAcquire(), breaker.tryAcquire()]).toEqual(['closed', true, true]);
    // Closed again means a full threshold of fresh failures is needed to reopen.
    fail(2);
    expect(breaker.state).toEqual('closed');
  });

  it('reopens for a full period when the trial fails', () => {
    const { breaker, clock, fail } = breakerAt();
    fail(3);
    clock.ms += 5_000;
    breaker.tryAcquire();
    breaker.recordFailure();
    expect([breaker.state, breaker.tryAcquire()]).toEqual(['open', false]);
    clock.ms += 4_999;
    expect(breaker.state).toEqual('open');
    clock.ms += 1;
    expect([breaker.state, breaker.tryAcquire(), breaker.tryAcquire()]).toEqual(['half-open', true, false]);
  });

  it('counts only consecutive failures: a success resets the count', () => {
    const { breaker, fail } = breakerAt();
    fail(2);
    breaker.recordSuccess();
    fail(2);
    expect(breaker.state).toEqual('closed');
    fail(1);
    expect(breaker.state).toEqual('open');
  });

  it('reads Date.now when no clock is given', () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, openMs: 60_000 });
    breaker.recordFailure();
    expect(breaker.state).toEqual('open');
  });
});
