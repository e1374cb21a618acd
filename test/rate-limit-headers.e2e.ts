import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devToken, postGraphQL, startTestStack, type TestStack } from './fixtures/stack.js';

// The RateLimit fields of draft-ietf-httpapi-ratelimit-headers-10 beside the older three, end to end: a policy
// per bucket debited (named by its region, its quota in points of the static cost), none on a public response
// a CDN may keep, and every one readable by a browser frontend. acme lives in eu; the gateway runs in us.
const origin = 'https://shop.example';
// A refill so slow that no request below sees a token come back, yet a window the policy can name: 1000 / 0.0001 s.
const refillPerSecond = 0.0001;
const window = 10_000_000;
let t: TestStack;

beforeAll(async () => {
  t = await startTestStack('pglite', {
    configure: (config) => ({
      ...config,
      cors: { allowedOrigins: [origin] },
      rateLimits: {
        ...config.rateLimits,
        keyPrefix: `geofed:test:rl:${randomUUID()}`,
        billingPlans: { ...config.rateLimits.billingPlans, pro: { capacity: 1000, refillPerSecond, regions: {} } },
        anonymous: { ...config.rateLimits.anonymous, capacity: 1000, refillPerSecond },
      },
    }),
  });
});
afterAll(async () => {
  await t?.stop();
});

const rateLimitFields = (headers: Headers) => Object.fromEntries([...headers].filter(([name]) => name.startsWith('ratelimit')));
const policy = (region: string) => `"${region}";q=1000;w=${window};geofed-unit="cost"`;

describe('RateLimit fields', () => {
  it('describe every bucket a signed-in query was debited from, after the debit', async () => {
    const token = await devToken('acme', 'usr_acme_1');
    // me (1) is charged at home, in eu.
    const home = await postGraphQL(t.graphqlUrl, '{ me { name } }', { token, headers: { origin } });
    expect(home.status).toBe(200);
    expect(rateLimitFields(home.headers)).toEqual({
      'ratelimit-policy': policy('eu'),
      ratelimit: '"eu";r=999;t=10000',
      'ratelimit-limit': '1000',
      'ratelimit-remaining': '999',
      'ratelimit-reset': '10000',
    });
    // me (1) at home, products (5) where the gateway runs: two buckets, two policies; the older fields name the tightest.
    const both = await postGraphQL(t.graphqlUrl, '{ me { name } products(first: 5) { name } }', { token, headers: { origin } });
    expect(rateLimitFields(both.headers)).toEqual({
      'ratelimit-policy': `${policy('eu')}, ${policy('us')}`,
      ratelimit: '"eu";r=998;t=20000, "us";r=995;t=50000',
      'ratelimit-limit': '1000',
      'ratelimit-remaining': '995',
      'ratelimit-reset': '50000',
    });
    expect(both.headers.get('access-control-expose-headers')?.split(', ')).toEqual(expect.arrayContaining(['ratelimit-policy', 'ratelimit', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset']));
  });

  it('are left off a public persisted GET, which is debited all the same, and sent on its private POST', async () => {
    const query = `query Public${randomUUID().replaceAll('-', '')} { products(first: 2) { id name } }`;
    const extensions = JSON.stringify({ persistedQuery: { version: 1, sha256Hash: createHash('sha256').update(query).digest('hex') } });
    const get = (params: Record<string, string>) => fetch(`${t.graphqlUrl}?${new URLSearchParams(params)}`, { headers: { 'apollo-require-preflight': 'true', origin } });
    expect((await get({ query, extensions })).status).toBe(200);
    const byHash = await get({ extensions });
    expect(byHash.status).toBe(200);
    expect(byHash.headers.get('cache-control')).toBe('public, max-age=0, s-maxage=60');
    expect(rateLimitFields(byHash.headers)).toEqual({});
    // Same caller, same budget, not cacheable: the fields say the two GETs were debited (2 each).
    const post = await postGraphQL(t.graphqlUrl, '{ products(first: 2) { id } }', { headers: { origin } });
    expect(post.headers.get('cache-control')).toBe('no-store');
    expect(rateLimitFields(post.headers)).toMatchObject({ 'ratelimit-policy': policy('us'), ratelimit: expect.stringMatching(/^"us";r=994;t=\d+$/) });
  });
});
