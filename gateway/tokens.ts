import { createRemoteJWKSet, jwtVerify, SignJWT, errors as joseErrors, type JWTHeaderParameters, type JWTPayload } from 'jose';
import { ErrorCode, geofedError } from '../protocol/errors.js';
import { minimumSecretLength } from '../protocol/secrets.js';
import { headerSafeValue, rolePattern } from '../protocol/signed-context.js';
import { ConfigError } from './config-error.js';
import type { GeofedConfig } from './config-schema.js';

/** `auth` of supergraph.yaml, with the environment's overrides. */
export type AuthSettings = GeofedConfig['auth'];

/** What token handling reads of the environment (see env.ts). */
export interface TokenEnv {
  /** GEOFED_JWT_SECRET. */
  readonly jwtSecret?: string | undefined;
  readonly production: boolean;
}

/** Documented in README.md; refused when NODE_ENV=production. */
export const devJwtSecret = 'geofed-dev-secret-do-not-use-in-production';

export interface TokenClaims {
  /** The user id (`sub`). */
  readonly userId: string;
  readonly tenantId: string;
  readonly roles: readonly string[];
}

/**
 * The HS256 secret, or undefined when HS256 is off (production with only a
 * JWKS). Production refuses the dev secret, and a missing one unless a JWKS
 * is configured.
 */
export function hs256Secret({ jwtSecret: secret, production }: TokenEnv, jwksConfigured = false): Uint8Array | undefined {
  if (production) {
    if (secret === devJwtSecret || (secret !== undefined && secret.length < minimumSecretLength)) {
      throw new ConfigError(`GEOFED_JWT_SECRET: production needs a secret of its own of at least ${minimumSecretLength} characters, not the dev default.`);
    }
    if (secret === undefined && !jwksConfigured) {
      throw new ConfigError(`GEOFED_JWT_SECRET is not set: production needs a secret of its own (at least ${minimumSecretLength} characters) or auth.jwks_url.`);
    }
    if (secret === undefined) return undefined;
  }
  return new TextEncoder().encode(secret ?? devJwtSecret);
}

/** The secret dev tokens are signed with (`npm run token`, `npm start`). */
export function jwtSecret(env: TokenEnv): Uint8Array {
  const secret = hs256Secret(env);
  if (!secret) throw new ConfigError('GEOFED_JWT_SECRET is not set: HS256 tokens cannot be signed.');
  return secret;
}

export async function signToken(claims: TokenClaims, secret: Uint8Array, expiresIn: string | number = '12h'): Promise<string> {
  return new SignJWT({ tenant: claims.tenantId, ...(claims.roles.length > 0 ? { roles: [...claims.roles] } : {}) })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.userId)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(secret);
}

/** A JWKS fetch past this fails the verification; keys are fetched again at most this often. */
const jwksTimeoutMs = 2_000;
const jwksCooldownMs = 30_000;
/** Seconds of clock difference with the token's issuer that `exp` and `nbf` tolerate. */
const clockToleranceSeconds = 5;

export type TokenVerifier = (token: string) => Promise<TokenClaims>;

/**
 * Verifies client tokens: HS256 with GEOFED_JWT_SECRET, and RS256/ES256
 * against `auth.jwks_url` when set; `exp` and `nbf` always, `iss` and `aud`
 * when configured. `alg: none` is never accepted. Any claim about region or
 * jurisdiction is ignored on purpose: the tenants directory is the only authority.
 */
export function tokenVerifier(auth: AuthSettings, env: TokenEnv): TokenVerifier {
  const hsKey = hs256Secret(env, auth.jwksUrl !== undefined);
  const jwks = auth.jwksUrl ? createRemoteJWKSet(new URL(auth.jwksUrl), { timeoutDuration: jwksTimeoutMs, cooldownDuration: jwksCooldownMs }) : undefined;
  const algorithms = [...(hsKey ? ['HS256'] : []), ...(jwks ? ['RS256', 'ES256'] : [])];
  const keyFor = (header: JWTHeaderParameters) => {
    if (header.alg === 'HS256' && hsKey) return hsKey;
    if (jwks && (header.alg === 'RS256' || header.alg === 'ES256')) return jwks(header);
    throw new joseErrors.JOSEAlgNotAllowed(`"${header.alg}" is not an accepted algorithm`);
  };
  return async (token) => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keyFor, {
        algorithms,
        clockTolerance: clockToleranceSeconds,
        requiredClaims: ['exp'],
        ...(auth.issuer ? { issuer: auth.issuer } : {}),
        ...(auth.audience ? { audience: auth.audience } : {}),
      }));
    } catch (error) {
      throw geofedError(ErrorCode.UNAUTHENTICATED, `Authentication failed: ${reasonOf(error)}. Get a new token and send it as "Authorization: Bearer <token>".`);
    }
    const lifetime = (payload.exp ?? 0) - (payload.iat ?? Math.floor(Date.now() / 1000));
    if (lifetime > auth.maxTokenLifetimeSeconds) {
      throw geofedError(ErrorCode.UNAUTHENTICATED, `Authentication failed: the token lives ${lifetime} s, longer than the ${auth.maxTokenLifetimeSeconds} s this gateway accepts (auth.max_token_lifetime_seconds). Get a shorter-lived token.`);
    }
    return claimsOf(payload);
  };
}

function reasonOf(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'the token has expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `the token's "${error.claim}" claim is not accepted`;
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'the token\'s algorithm is not accepted';
  return 'the token is malformed or its signature is invalid';
}

/**
 * The claims geofed acts on, checked where they enter: each must travel
 * safely in a signed header, so a `sub` with CR/LF or characters outside
 * Latin-1, or a role with a NUL, a comma or a space, is refused here, naming
 * the claim, rather than failing (or being split) downstream.
 */
function claimsOf(payload: JWTPayload): TokenClaims {
  const { tenant, sub } = payload;
  const roles = payload.roles ?? [];
  if (typeof tenant !== 'string' || tenant.length === 0 || typeof sub !== 'string' || sub.length === 0) {
    throw geofedError(ErrorCode.UNAUTHENTICATED, 'Authentication failed: the token needs a "sub" and a "tenant" claim, both strings.');
  }
  for (const [claim, value] of [['sub', sub], ['tenant', tenant]] as const) {
    if (!headerSafeValue.test(value)) throw geofedError(ErrorCode.UNAUTHENTICATED, `Authentication failed: the "${claim}" claim holds characters geofed does not accept (control characters such as CR/LF, characters outside Latin-1, or more than 255 of them).`);
  }
  if (!Array.isArray(roles) || !roles.every((role): role is string => typeof role === 'string')) {
    throw geofedError(ErrorCode.UNAUTHENTICATED, 'Authentication failed: the "roles" claim must be a list of strings.');
  }
  if (!roles.every((role) => rolePattern.test(role))) {
    throw geofedError(ErrorCode.UNAUTHENTICATED, 'Authentication failed: each of the "roles" claim\'s roles must be 1 to 64 letters, digits, "_", ".", ":" or "-" (no commas, spaces or control characters).');
  }
  return { userId: sub, tenantId: tenant, roles };
}
