import { describe, expect, it } from 'vitest';
import { signedHeaders, verifySignedRequest, subgraphSecrets } from '../gateway/signed-context.js';

const url = 'http://127.0.0.1:4202/graphql';
const body = '{"query":"{ me { email } }"}';
const caller = { tenantId: 'acme', userId: 'usr_acme_1', roles: ['admin'], region: 'eu' };
const now = Date.UTC(2026, 10, 23, 12);

function verify(headers: Record<string, string>, overrides: { body?: string; path?: string; method?: string; secrets?: string[]; nowMs?: number } = {}) {
  return verifySignedRequest(
    { method: overrides.method ?? 'POST', path: overrides.path ?? '/graphql', headers, body: overrides.body ?? body },
    { secrets: overrides.secrets ?? ['current-secret'], windowSeconds: 60, nowMs: overrides.nowMs ?? now },
  );
}

describe('signed gateway → subgraph context', () => {
  const headers = signedHeaders('current-secret', { method: 'POST', url, body }, caller, now);

  it('carries the caller to a subgraph that holds the secret', () => {
    expect(verify(headers)).toEqual({ ok: true, caller });
  });

  it('refuses a captured signature reused with another body, path, method or caller', () => {
    expect(verify(headers, { body: '{"query":"{ user(id: \\"x\\") { email } }"}' })).toMatchObject({ ok: false, reason: 'the signature does not match' });
    expect(verify(headers, { path: '/other' })).toMatchObject({ ok: false });
    expect(verify(headers, { method: 'GET' })).toMatchObject({ ok: false });
    expect(verify({ ...headers, 'x-geofed-tenant': 'globex' })).toMatchObject({ ok: false });
    expect(verify({ ...headers, 'x-geofed-region': 'us' })).toMatchObject({ ok: false });
    expect(verify({ ...headers, 'x-geofed-roles': 'admin,superuser' })).toMatchObject({ ok: false });
  });

  it('refuses unsigned, malformed and stale requests', () => {
    expect(verify({})).toMatchObject({ ok: false, reason: 'the request is not signed by a geofed gateway' });
    expect(verify({ ...headers, 'x-geofed-signature': 'v1=abc' })).toMatchObject({ ok: false, reason: 'the signature is malformed' });
    expect(verify(headers, { nowMs: now + 61_000 })).toMatchObject({ ok: false, reason: 'the signature timestamp is outside the 60s window' });
    expect(verify(headers, { nowMs: now - 61_000 })).toMatchObject({ ok: false });
    expect(verify(headers, { nowMs: now + 59_000 })).toMatchObject({ ok: true });
  });

  it('accepts the previous secret during a rotation, and no other', () => {
    const old = signedHeaders('previous-secret', { method: 'POST', url, body }, caller, now);
    expect(verify(old, { secrets: ['current-secret', 'previous-secret'] })).toMatchObject({ ok: true });
    expect(verify(old, { secrets: ['current-secret'] })).toMatchObject({ ok: false });
    expect(subgraphSecrets({ GEOFED_SUBGRAPH_SECRET: 'a', GEOFED_SUBGRAPH_SECRET_PREVIOUS: 'b' })).toEqual({ current: 'a', accepted: ['a', 'b'] });
  });

  it('refuses the dev secret, or none, in production', () => {
    expect(() => subgraphSecrets({ NODE_ENV: 'production' })).toThrow(/GEOFED_SUBGRAPH_SECRET must be set in production/);
    expect(() => subgraphSecrets({ NODE_ENV: 'production', GEOFED_SUBGRAPH_SECRET: 'geofed-dev-subgraph-secret-do-not-use-in-production' })).toThrow();
  });
});
