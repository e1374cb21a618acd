import { GraphQLError } from 'graphql';
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { cachedTenantDirectory, type DirectoryLookup, type TenantEntry } from '../gateway/tenant-directory.js';
import { logger } from '../runtime/logger.js';

const acme: TenantEntry = { id: 'acme', region: 'eu', billingPlan: 'pro', status: 'active' };
const moved: TenantEntry = { ...acme, region: 'us' };

function directoryWith(answer: DirectoryLookup, ttlMs = 1_000) {
  const clock = { ms: 50_000 };
  const fetchEntry = vi.fn(answer);
  return { directory: cachedTenantDirectory(fetchEntry, { ttlMs, now: () => clock.ms }), fetchEntry, clock };
}

/** A lookup the test answers by hand, so several requests can be in flight at once. */
function heldLookup() {
  const held: { resolve: (entry: TenantEntry | null) => void; reject: (error: Error) => void }[] = [];
  const answer: DirectoryLookup = () => new Promise((resolve, reject) => held.push({ resolve, reject }));
  return { answer, held };
}

async function failureOf(promise: Promise<unknown>) {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  if (!(error instanceof GraphQLError)) return error;
  return { message: error.message, code: error.extensions.code, status: (error.extensions.http as { status: number }).status };
}

const unavailable = {
  message: "The tenants directory cannot be reached, so the tenant's region is unknown; retry shortly.",
  code: 'DIRECTORY_UNAVAILABLE',
  status: 503,
};

describe('cachedTenantDirectory', () => {
  let warn: MockInstance;
  beforeEach(() => {
    // The failed lookups below are logged; the test reads the log calls instead of printing them.
    warn = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => {
    warn.mockRestore();
  });

  it('serves a fresh entry without a lookup until its TTL is over', async () => {
    const { directory, fetchEntry, clock } = directoryWith(async () => acme);
    expect(await directory.lookup('acme')).toEqual(acme);
    clock.ms += 999;
    expect(await directory.lookup('acme')).toEqual(acme);
    expect(fetchEntry.mock.calls).toEqual([['acme']]);
    clock.ms += 1;
    fetchEntry.mockImplementation(async () => moved);
    expect(await directory.lookup('acme')).toEqual(moved);
    expect(fetchEntry.mock.calls).toEqual([['acme'], ['acme']]);
  });

  it('caches "no such tenant" too', async () => {
    const { directory, fetchEntry } = directoryWith(async () => null);
    expect([await directory.lookup('ghost'), await directory.lookup('ghost')]).toEqual([null, null]);
    expect(fetchEntry.mock.calls).toEqual([['ghost']]);
  });

  it('counts the TTL from when the lookup answered', async () => {
    const { answer, held } = heldLookup();
    const { directory, fetchEntry, clock } = directoryWith(answer);
    const first = directory.lookup('acme');
    clock.ms += 5_000;
    held[0]!.resolve(acme);
    expect(await first).toEqual(acme);
    clock.ms += 999;
    expect(await directory.lookup('acme')).toEqual(acme);
    expect(fetchEntry.mock.calls).toEqual([['acme']]);
  });

  it('makes one lookup for concurrent misses of one tenant, one per tenant', async () => {
    const { answer, held } = heldLookup();
    const { directory, fetchEntry } = directoryWith(answer);
    const waiting = Array.from({ length: 5 }, () => directory.lookup('acme'));
    const other = directory.lookup('globex');
    expect(fetchEntry.mock.calls).toEqual([['acme'], ['globex']]);
    held[0]!.resolve(acme);
    held[1]!.resolve(null);
    expect(await Promise.all([...waiting, other])).toEqual([acme, acme, acme, acme, acme, null]);
  });

  it('keeps serving a stale entry while the lookup fails, and retries on every miss', async () => {
    const { directory, fetchEntry, clock } = directoryWith(async () => acme);
    await directory.lookup('acme');
    clock.ms += 1_000;
    fetchEntry.mockImplementation(async () => {
      throw new Error('catalog down');
    });
    expect(await directory.lookup('acme')).toEqual(acme);
    expect(await directory.lookup('acme')).toEqual(acme);
    fetchEntry.mockImplementation(async () => moved);
    expect(await directory.lookup('acme')).toEqual(moved);
    expect(fetchEntry.mock.calls).toEqual([['acme'], ['acme'], ['acme'], ['acme']]);
    expect(warn.mock.calls).toEqual([
      [{ error: expect.objectContaining({ errorClass: 'Error', messageHash: expect.stringMatching(/^[0-9a-f]{12}$/) }) }, 'tenants directory lookup failed'],
      [{ error: expect.objectContaining({ errorClass: 'Error' }) }, 'tenants directory lookup failed'],
    ]);
  });

  it('fails every waiting request with DIRECTORY_UNAVAILABLE when nothing is cached', async () => {
    const { answer, held } = heldLookup();
    const { directory, fetchEntry } = directoryWith(answer);
    const waiting = [directory.lookup('acme'), directory.lookup('acme')];
    held[0]!.reject(new Error('connect ECONNREFUSED'));
    expect(await Promise.all(waiting.map(failureOf))).toEqual([unavailable, unavailable]);
    // The failure is not cached: the next request asks again.
    const retried = directory.lookup('acme');
    held[1]!.resolve(acme);
    expect(await retried).toEqual(acme);
    expect(fetchEntry.mock.calls).toEqual([['acme'], ['acme']]);
  });

  it('recovers from a lookup that throws before returning a promise', async () => {
    const { directory, fetchEntry } = directoryWith(() => {
      throw new Error('bad url');
    });
    expect(await failureOf(directory.lookup('acme'))).toEqual(unavailable);
    // A lookup left pending after it settled would answer this one with the old failure.
    fetchEntry.mockImplementation(async () => acme);
    expect(await directory.lookup('acme')).toEqual(acme);
  });

  it('reuses "no such tenant" only for its own, shorter, time', async () => {
    let now = 0;
    const fetchEntry = vi.fn(async () => null);
    const directory = cachedTenantDirectory(fetchEntry, { ttlMs: 30_000, notFoundTtlMs: 2_000, now: () => now });
    expect(await directory.lookup('newco')).toBeNull();
    now = 1_999;
    expect(await directory.lookup('newco')).toBeNull();
    now = 2_000;
    expect(await directory.lookup('newco')).toBeNull();
    expect(fetchEntry.mock.calls).toEqual([['newco'], ['newco']]);
  });

  it('takes a catalog event\'s values into a cached entry, which stays fresh, or forgets the tenant', async () => {
    const { directory, fetchEntry, clock } = directoryWith(async () => acme);
    await directory.lookup('acme');
    clock.ms += 900;
    directory.invalidate('acme', { status: 'suspended' });
    clock.ms += 900;
    expect(await directory.lookup('acme')).toEqual({ ...acme, status: 'suspended' });
    directory.invalidate('acme');
    expect(await directory.lookup('acme')).toEqual(acme);
    expect(fetchEntry.mock.calls).toEqual([['acme'], ['acme']]);
  });

  it('never keeps a lookup that was in flight when the tenant changed', async () => {
    const { answer, held } = heldLookup();
    const { directory, fetchEntry } = directoryWith(answer);
    const before = directory.lookup('acme');
    directory.invalidate('acme', { status: 'suspended' });
    const after = directory.lookup('acme');
    expect(fetchEntry.mock.calls).toEqual([['acme'], ['acme']]);
    held[0]!.resolve(acme);
    held[1]!.resolve({ ...acme, status: 'suspended' });
    expect([await before, await after]).toEqual([acme, { ...acme, status: 'suspended' }]);
    // The answer read after the change is the one kept.
    expect(await directory.lookup('acme')).toEqual({ ...acme, status: 'suspended' });
    expect(fetchEntry.mock.calls.length).toBe(2);
  });
});
