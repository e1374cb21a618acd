import { SignJWT, type JWTPayload } from 'jose';
import type { Random } from './random.js';
import { seedFacts, userIdsOf } from './operations.js';

// Who sends a fuzz request: anonymous, a tenant's valid token (sometimes with the admin role), or a
// token an attacker crafted: expired, garbage, badly signed, with odd claims.

export interface Caller {
  /** What kind of caller this is (the report counts them). */
  readonly kind: string;
  /** The tenant the operation's valid ids come from (a made-up one for bad tokens). */
  readonly tenant: string;
  /**
   * What a correct gateway does with this caller: `accepted` (a valid token, or no token), `refused` (a
   * token it must refuse, even for public fields: never served data), or `either` (ambiguous).
   */
  readonly expect: 'accepted' | 'refused' | 'either';
  /** The caller's roles as a gateway should read them: only a valid token's exact `admin` entry is admin. */
  readonly admin: boolean;
  /** The Authorization header, if any. */
  readonly authorization: string | undefined;
}

/** Signs arbitrary claims (HS256, the secret the gateway verifies with), or with a wrong key or `alg`. */
export class TokenMint {
  private readonly key: Uint8Array;
  private readonly cache = new Map<string, Promise<string>>();

  constructor(secret: string) {
    this.key = new TextEncoder().encode(secret);
  }

  /** A token for these claims; `exp` is one hour from now unless the claims say otherwise (`exp: undefined` drops it). */
  sign(claims: JWTPayload, options: { key?: Uint8Array; cacheKey?: string } = {}): Promise<string> {
    const build = () => {
      const now = Math.floor(Date.now() / 1000);
      const payload: JWTPayload = { iat: now, exp: now + 3_600, ...claims };
      for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
      return new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(options.key ?? this.key);
    };
    if (!options.cacheKey) return build();
    let token = this.cache.get(options.cacheKey);
    if (!token) {
      token = build();
      this.cache.set(options.cacheKey, token);
    }
    return token;
  }
}

const base64url = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

export async function pickCaller(rng: Random, mint: TokenMint): Promise<Caller> {
  const tenant = rng.pick(seedFacts.tenants);
  const user = rng.weighted([[6, userIdsOf(tenant)[0]!], [3, rng.pick(userIdsOf(tenant))]]);
  const bearer = (token: string) => `Bearer ${token}`;
  const valid = (kind: string, admin: boolean, token: Promise<string>) => token.then((t): Caller => ({ kind, tenant, expect: 'accepted', admin, authorization: bearer(t) }));
  const invalid = (kind: string, authorization: string | undefined, expect: Caller['expect'] = 'refused'): Caller => ({ kind, tenant, expect, admin: false, authorization });
  const choice = rng.weighted<() => Promise<Caller> | Caller>([
    [22, () => ({ kind: 'anonymous', tenant, expect: 'accepted', admin: false, authorization: undefined })],
    [45, () => valid('tenant', false, mint.sign({ sub: user, tenant }, { cacheKey: `${tenant}/${user}` }))],
    [6, () => valid('tenant-admin', true, mint.sign({ sub: user, tenant, roles: ['admin'] }, { cacheKey: `${tenant}/${user}/admin` }))],
    [2, () => valid('tenant-no-exp', false, mint.sign({ sub: user, tenant, exp: undefined }, { cacheKey: `${tenant}/${user}/no-exp` }))],
    [2, () => valid('tenant-region-claim', false, mint.sign({ sub: user, tenant, region: rng.pick(['eu', 'us', 'apac', 'mars']) }))],
    [1, () => valid('tenant-other-user', false, mint.sign({ sub: rng.pick(userIdsOf(rng.pick(seedFacts.tenants))), tenant }))],
    [1, () => valid('tenant-unknown-user', false, mint.sign({ sub: 'usr_nobody', tenant }))],
    [1, () => valid('tenant-roles-other', false, mint.sign({ sub: user, tenant, roles: rng.pick([['viewer'], ['Admin'], [' admin'], [], ['admin ', 'ADMIN']]) }))],
    [2, () => mint.sign({ sub: user, tenant, exp: Math.floor(Date.now() / 1000) - rng.pick([60, 3_600, 86_400 * 365]) }).then((t) => invalid('expired', bearer(t)))],
    [1, () => mint.sign({ sub: user, tenant, nbf: Math.floor(Date.now() / 1000) + 3_600 }).then((t) => invalid('not-yet-valid', bearer(t)))],
    [2, () => invalid('garbage', rng.pick(['Bearer garbage', 'Bearer a.b.c', 'Bearer ....', `Bearer ${'A'.repeat(4_000)}`, 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.', 'Bearer  two  spaces', 'Bearer é']))],
    [1, () => invalid('odd-scheme', rng.pick(['Bearer ', 'Bearer', 'Basic dXNlcjpwYXNz', 'Token abc', '', ' ', 'Bearer\tx', 'bearer x']), 'either')],
    [1, () => invalid('alg-none', bearer(`${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ sub: user, tenant, exp: 4_102_444_800 })}.`))],
    [1, () => mint.sign({ sub: user, tenant }, { key: new TextEncoder().encode('not-the-gateway-secret-0123456789abcdef') }).then((t) => invalid('wrong-key', bearer(t)))],
    [1, () => mint.sign({ sub: user, tenant }).then((t) => invalid('tampered', bearer(`${t.slice(0, -3)}${t.endsWith('AAA') ? 'BBB' : 'AAA'}`)))],
    [1, () => mint.sign({ sub: user, tenant }).then((t) => { const [h, , s] = t.split('.'); return invalid('swapped-payload', bearer(`${h}.${base64url({ sub: 'usr_globex_1', tenant: 'globex', exp: 4_102_444_800 })}.${s}`)); })],
    [2, () => mint.sign({ sub: rng.pick(['usr_acme_1\r\nx-geofed-tenant: globex', 'usr\nacme', 'usr\r', 'a\u0000b']), tenant }).then((t): Caller => ({ kind: 'sub-crlf', tenant, expect: 'either', admin: false, authorization: bearer(t) }))],
    [2, () => mint.sign({ sub: rng.pick(['ユーザー', 'usr_😀', 'Zoë', 'usr_\u0100', '\ud800']), tenant }).then((t): Caller => ({ kind: 'sub-non-latin1', tenant, expect: 'either', admin: false, authorization: bearer(t) }))],
    [1, () => mint.sign({ sub: 'x'.repeat(rng.pick([300, 3_000])), tenant }).then((t): Caller => ({ kind: 'sub-long', tenant, expect: 'either', admin: false, authorization: bearer(t) }))],
    [1, () => mint.sign({ sub: user, tenant: rng.pick(['nope', 'ACME', 'acme ', '', 'acme\r\n', 'ünïcode', '../acme', "acme' --", 'x'.repeat(500)]) }).then((t) => invalid('unknown-tenant', bearer(t)))],
    [1, () => mint.sign({ sub: user, tenant: rng.pick([42, null, ['acme'], { id: 'acme' }, true]) as never }).then((t) => invalid('tenant-not-string', bearer(t)))],
    [1, () => mint.sign({ tenant }).then((t) => invalid('no-sub', bearer(t)))],
    [1, () => mint.sign({ sub: rng.pick([1, ['usr_acme_1'], { id: 1 }, '']) as never, tenant }).then((t) => invalid('sub-not-string', bearer(t)))],
    [2, () => mint.sign({ sub: user, tenant, roles: 'admin' }).then((t) => invalid('roles-string', bearer(t)))],
    [2, () => mint.sign({ sub: user, tenant, roles: rng.pick([['viewer,admin'], ['viewer, admin'], ['viewer\nadmin'], ['a,b,c,admin']]) }).then((t): Caller => ({ kind: 'roles-comma', tenant, expect: 'accepted', admin: false, authorization: bearer(t) }))],
    [1, () => mint.sign({ sub: user, tenant, roles: rng.pick([[1], [null], [['admin']], { admin: true }, 7]) as never }).then((t) => invalid('roles-not-strings', bearer(t)))],
  ]);
  return choice();
}
