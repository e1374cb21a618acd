import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, base64url, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../gateway/config.js';
import { signToken, tokenVerifier, jwtSecret } from '../gateway/tokens.js';
import { postGraphQL, startTestStack, type TestStack } from './fixtures/stack.js';

// Tokens for production: RS256/ES256 through a JWKS served over real HTTP, iss/aud/exp/nbf checked.
const issuer = 'https://idp.geofed.test';
const audience = 'geofed-gateway';
let jwks: Server;
let jwksUrl: string;
let rsa: CryptoKey;
let ec: CryptoKey;
let stranger: CryptoKey;

beforeAll(async () => {
  const rsaPair = await generateKeyPair('RS256', { extractable: true });
  const ecPair = await generateKeyPair('ES256', { extractable: true });
  stranger = (await generateKeyPair('RS256')).privateKey;
  rsa = rsaPair.privateKey;
  ec = ecPair.privateKey;
  const keys = [
    { ...(await exportJWK(rsaPair.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
    { ...(await exportJWK(ecPair.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
  ];
  jwks = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
});
afterAll(async () => {
  await new Promise((resolve) => jwks.close(resolve));
});

function token(key: CryptoKey, alg: 'RS256' | 'ES256', kid: string, claims: { iss?: string; aud?: string; nbf?: number; exp?: number } = {}) {
  const jwt = new SignJWT({ tenant: 'acme', roles: ['admin'] })
    .setProtectedHeader({ alg, kid })
    .setSubject('usr_acme_1')
    .setIssuer(claims.iss ?? issuer)
    .setAudience(claims.aud ?? audience)
    .setExpirationTime(claims.exp ?? '10m');
  if (claims.nbf !== undefined) jwt.setNotBefore(claims.nbf);
  return jwt.sign(key);
}

async function refusal(verify: (t: string) => Promise<unknown>, jwt: string): Promise<string> {
  try {
    await verify(jwt);
  } catch (error) {
    expect((error as { extensions: { code: string } }).extensions.code).toBe('UNAUTHENTICATED');
    return (error as Error).message;
  }
  throw new Error('expected the token to be refused');
}

/** Outside production, without GEOFED_JWT_SECRET: the documented dev secret. */
const devEnv = { production: false };

describe('token verification', () => {
  it('accepts RS256 and ES256 tokens from the JWKS, and HS256 dev tokens outside production', async () => {
    const verify = tokenVerifier({ jwksUrl, issuer, audience, maxTokenLifetimeSeconds: 86_400 }, devEnv);
    const claims = { tenantId: 'acme', userId: 'usr_acme_1', roles: ['admin'] };
    expect(await verify(await token(rsa, 'RS256', 'rsa-1'))).toEqual(claims);
    expect(await verify(await token(ec, 'ES256', 'ec-1'))).toEqual(claims);
    const hs = await new SignJWT({ tenant: 'acme' }).setProtectedHeader({ alg: 'HS256' }).setSubject('usr_acme_1').setIssuer(issuer).setAudience(audience).setExpirationTime('5m').sign(jwtSecret(devEnv));
    expect(await verify(hs)).toEqual({ tenantId: 'acme', userId: 'usr_acme_1', roles: [] });
  });

  it('refuses wrong issuer, wrong audience, not-yet-valid, expired, unknown key and alg none', async () => {
    const verify = tokenVerifier({ jwksUrl, issuer, audience, maxTokenLifetimeSeconds: 86_400 }, devEnv);
    const now = Math.floor(Date.now() / 1000);
    expect(await refusal(verify, await token(rsa, 'RS256', 'rsa-1', { iss: 'https://evil.test' }))).toContain('"iss" claim');
    expect(await refusal(verify, await token(rsa, 'RS256', 'rsa-1', { aud: 'another-app' }))).toContain('"aud" claim');
    expect(await refusal(verify, await token(rsa, 'RS256', 'rsa-1', { nbf: now + 600 }))).toContain('"nbf" claim');
    expect(await refusal(verify, await token(ec, 'ES256', 'ec-1', { exp: now - 60 }))).toContain('expired');
    expect(await refusal(verify, await token(stranger, 'RS256', 'rsa-1'))).toContain('signature is invalid');
    const none = `${base64url.encode('{"alg":"none","typ":"JWT"}')}.${base64url.encode(JSON.stringify({ sub: 'usr_acme_1', tenant: 'acme', iss: issuer, aud: audience, exp: now + 600 }))}.`;
    expect(await refusal(verify, none)).toMatch(/algorithm is not accepted|malformed/);
  });

  it('in production, refuses HS256 when only a JWKS is configured, and refuses the dev secret', async () => {
    const verify = tokenVerifier({ jwksUrl, issuer, audience, maxTokenLifetimeSeconds: 86_400 }, { production: true });
    expect(await verify(await token(rsa, 'RS256', 'rsa-1'))).toMatchObject({ tenantId: 'acme' });
    const hs = await signToken({ tenantId: 'acme', userId: 'usr_acme_1', roles: [] }, jwtSecret(devEnv));
    expect(await refusal(verify, hs)).toContain('algorithm is not accepted');
    expect(() => tokenVerifier({ maxTokenLifetimeSeconds: 86_400 }, { production: true })).toThrow(ConfigError);
    expect(() => tokenVerifier({ maxTokenLifetimeSeconds: 86_400 }, { production: true, jwtSecret: 'geofed-dev-secret-do-not-use-in-production' })).toThrow(/not the dev default/);
  });

  describe('through the gateway', () => {
    let t: TestStack;
    beforeAll(async () => {
      t = await startTestStack('postgres', { configure: (config) => ({ ...config, auth: { ...config.auth, jwksUrl, issuer, audience } }) });
    });
    afterAll(async () => {
      await t?.stop();
    });

    it('serves a caller with an RS256 token from the identity provider, and refuses a foreign audience', async () => {
      const ok = await postGraphQL(t.graphqlUrl, '{ me { email } }', { token: await token(rsa, 'RS256', 'rsa-1') });
      expect(ok.body.errors).toBeUndefined();
      expect(ok.body.data).toEqual({ me: { email: 'ada.lovelace@acme.example' } });
      const foreign = await postGraphQL(t.graphqlUrl, '{ me { email } }', { token: await token(rsa, 'RS256', 'rsa-1', { aud: 'another-app' }) });
      expect(foreign.status).toBe(401);
    });
  });
});
