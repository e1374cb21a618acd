import { describe, expect, it } from 'vitest';
import { loadConfig } from '../gateway/config.js';
import { nextEntry } from '../gateway/rollout-commands.js';
import { judge, latencyBucket, p95Of } from '../gateway/rollout-guard.js';
import type { SideCounts } from '../gateway/rollout-store.js';

const guard = { enabled: true, windowMs: 60_000, minRequests: 50, maxErrorRateDelta: 0.05, maxP95Ratio: 2 };
const what = { canary: 'users@v2', stable: 'users@v1' };

/** `requests` requests, `errors` of them failed, each taking `ms`. */
function side(requests: number, errors: number, ms: number): SideCounts {
  return { requests, errors, latency: { [latencyBucket(ms)]: requests } };
}

describe('the guard\'s judgement', () => {
  it('waits for min_requests on the canary', () => {
    expect(judge(side(49, 49, 5), side(1_000, 0, 5), guard, what)).toEqual({ breach: false, why: '49 of 50 canary requests in the window: not judged yet' });
  });

  it('rolls back on an error rate more than max_error_rate_delta above the stable side\'s', () => {
    expect(judge(side(100, 5, 5), side(100, 1, 5), guard, what)).toEqual({ breach: false });
    expect(judge(side(100, 10, 5), side(100, 1, 5), guard, what)).toEqual({
      breach: true,
      why: 'error rate 10.0 % on users@v2 (10 of 100) against 1.0 % on users@v1 (1 of 100), more than rollout.guard.max_error_rate_delta 0.05 above it',
    });
  });

  it('rolls back on a p95 more than max_p95_ratio times the stable side\'s, once both sides have min_requests', () => {
    expect(judge(side(100, 0, 50), side(100, 0, 10), guard, what)).toMatchObject({ breach: true, why: expect.stringMatching(/^p95 latency 5\d\.\d ms on users@v2 against \d+\.\d ms on users@v1/) });
    expect(judge(side(100, 0, 15), side(100, 0, 10), guard, what)).toEqual({ breach: false });
    expect(judge(side(100, 0, 50), side(10, 0, 10), guard, what)).toEqual({ breach: false });
  });

  it('reads a p95 from the histogram within a bucket\'s 25 %', () => {
    const counts: SideCounts = { requests: 100, errors: 0, latency: { [latencyBucket(10)]: 94, [latencyBucket(200)]: 6 } };
    const p95 = p95Of(counts)!;
    expect(p95 >= 200 && p95 < 250).toBe(true);
    expect(p95Of({ requests: 0, errors: 0, latency: {} })).toBeUndefined();
  });
});

describe('rollout commands', () => {
  const config = (() => {
    const loaded = loadConfig('supergraph.yaml', {});
    return { ...loaded, subgraphs: loaded.subgraphs.map((s) => (s.name === 'users' ? { ...s, versions: { v2: { schema: s.schema, urls: { eu: 'http://127.0.0.1:4212/graphql' } } } } : s)) };
  })();
  const now = new Date('2025-06-01T00:00:00.000Z');

  it('starts, re-shares, rolls back and promotes, each a revision', () => {
    const started = nextEntry(config, undefined, { action: 'start', subgraph: 'users', version: 'v2', region: 'eu', percent: 10, pinned: ['acme'] }, now);
    expect(started).toEqual({ entry: { stable: 'v1', canary: 'v2', percent: 10, pinned: ['acme'], revision: 1, updatedAt: now.toISOString() } });
    const entry = (started as { entry: Parameters<typeof nextEntry>[1] & object }).entry;
    expect(nextEntry(config, entry, { action: 'start', subgraph: 'users', version: 'v2', region: 'eu', percent: 30 }, now)).toMatchObject({ entry: { percent: 30, pinned: ['acme'], revision: 2 } });
    expect(nextEntry(config, entry, { action: 'rollback', subgraph: 'users', region: 'eu' }, now)).toMatchObject({ entry: { canary: 'v2', percent: 0, revision: 2, rollback: { by: 'operator', version: 'v2' } } });
    expect(nextEntry(config, entry, { action: 'promote', subgraph: 'users', version: 'v2', region: 'eu' }, now)).toEqual({ entry: { stable: 'v2', percent: 0, pinned: [], revision: 2, updatedAt: now.toISOString() } });
  });

  it('refuses what a region cannot run, naming why', () => {
    expect(nextEntry(config, undefined, { action: 'promote', subgraph: 'users', version: 'v2', region: 'us' }, now)).toEqual({ problems: ['users in us: users@v2 has no instance in us (subgraphs.users.versions.v2.urls.us)'] });
    expect(nextEntry(config, undefined, { action: 'start', subgraph: 'users', version: 'v1', region: 'eu', percent: 5 }, now)).toEqual({ problems: ['users@v1 is already the stable version in eu: start another version, or promote it'] });
    expect(nextEntry(config, undefined, { action: 'rollback', subgraph: 'users', region: 'eu' }, now)).toEqual({ problems: ['users has no canary in eu to roll back (stable: v1)'] });
    expect(nextEntry(config, undefined, { action: 'start', subgraph: 'payments', version: 'v2', region: 'eu', percent: 5 }, now)).toEqual({ problems: ['"payments" is not one of subgraphs [catalog, users, orders]'] });
  });
});
