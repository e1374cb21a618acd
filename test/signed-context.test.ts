import { describe, expect, it } from 'vitest';
import { gatewayEnv } from '../gateway/env.js';
import { signedHeaders, verifySignedRequest } from '../protocol/signed-context.js';
import { subgraphSettings } from '../subgraphs/settings.js';

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

  it('carries the caller to a subgraph that holds the secret, with a nonce of its own', () => {
    expect(verify(headers)).toEqual({ ok: true, caller, nonce: headers['x-geofed-nonce'] });
    expect(signedHeaders('current-secret', { method: 'POST', url, body }, caller, now)['x-geofed-nonce']).not.toBe(headers['x-geofed-nonce']);
  });

  it('cannot be made to merge or split roles: a role outside the pattern never reaches a subgraph', () => {
    expect(() => signedHeaders('current-secret', { method: 'POST', url, body }, { ...caller, roles: ['viewer,admin'] }, now)).toThrow(TypeError);
    expect(() => signedHeaders('current-secret', { method: 'POST', url, body }, { ...caller, userId: 'usr\r\nx-geofed-roles: admin' }, now)).toThrow(TypeError);
    expect(verify({ ...headers, 'x-geofed-roles': 'admin,viewer admin' })).toMatchObject({ ok: false, reason: 'the signature is malformed' });
    expect(verify({ ...headers, 'x-geofed-nonce': 'ab'.repeat(16) })).toMatchObject({ ok: false, reason: 'the signature does not match' });
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
    expect(gatewayEnv({ GEOFED_SUBGRAPH_SECRET: 'a', GEOFED_SUBGRAPH_SECRET_PREVIOUS: 'b' }).subgraphSecrets).toEqual({ current: 'a', accepted: ['a', 'b'] });
    expect(subgraphSettings('users', 'eu', { GEOFED_SUBGRAPH_SECRET: 'a', GEOFED_SUBGRAPH_SECRET_PREVIOUS: 'b' }).secrets).toEqual({ current: 'a', accepted: ['a', 'b'] });
  });

  it('refuses the dev secret, or none, in production, on both sides', () => {
    const devSecret = 'geofed-dev-subgraph-secret-do-not-use-in-production';
    expect(() => gatewayEnv({ NODE_ENV: 'production' })).toThrow(/GEOFED_SUBGRAPH_SECRET: production needs a secret of its own/);
    expect(() => gatewayEnv({ NODE_ENV: 'production', GEOFED_SUBGRAPH_SECRET: devSecret })).toThrow(/GEOFED_SUBGRAPH_SECRET/);
    expect(() => gatewayEnv({ NODE_ENV: 'production', GEOFED_SUBGRAPH_SECRET: 'x'.repeat(32) })).toThrow(/GEOFED_GATEWAY_HOP_SECRET: production needs a secret of its own/);
    expect(() => subgraphSettings('catalog', 'us', { NODE_ENV: 'production' })).toThrow(/GEOFED_SUBGRAPH_SECRET: production needs a secret of its own/);
    expect(() => subgraphSettings('orders', 'eu', { NODE_ENV: 'production', GEOFED_SUBGRAPH_SECRET: devSecret })).toThrow(/GEOFED_SUBGRAPH_SECRET/);
  });
});
