import { jwtVerify, SignJWT, errors as joseErrors } from 'jose';
import { ConfigError } from './config.js';
import { geofedError } from './errors.js';

/** Documented in README.md; refused when NODE_ENV=production. */
export const devJwtSecret = 'geofed-dev-secret-do-not-use-in-production';

export interface TokenClaims {
  /** The user id (`sub`). */
  readonly userId: string;
  readonly tenantId: string;
  readonly roles: readonly string[];
}

export function jwtSecret(env: NodeJS.ProcessEnv = process.env): Uint8Array {
  const secret = env.GEOFED_JWT_SECRET;
  if (secret) return new TextEncoder().encode(secret);
  if (env.NODE_ENV === 'production') {
    throw new ConfigError('GEOFED_JWT_SECRET is not set: production needs a secret of its own (at least 32 characters).');
  }
  return new TextEncoder().encode(devJwtSecret);
}

export async function signToken(claims: TokenClaims, secret: Uint8Array, expiresIn: string | number = '12h'): Promise<string> {
  return new SignJWT({ tenant: claims.tenantId, ...(claims.roles.length > 0 ? { roles: [...claims.roles] } : {}) })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.userId)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(secret);
}

/**
 * Verifies an HS256 token and returns its claims. Any claim about region or
 * jurisdiction is ignored on purpose: the tenants directory is the only authority.
 */
export async function verifyToken(token: string, secret: Uint8Array): Promise<TokenClaims> {
  let payload;
  try {
    ({ payload } = await jwtVerify(token, secret, { algorithms: ['HS256'] }));
  } catch (error) {
    const reason = error instanceof joseErrors.JWTExpired ? 'the token has expired' : 'the token is malformed or its signature is invalid';
    throw geofedError('UNAUTHENTICATED', `Authentication failed: ${reason}. Get a new token and send it as "Authorization: Bearer <token>".`);
  }
  const tenant = payload.tenant;
  const roles = payload.roles ?? [];
  if (typeof tenant !== 'string' || tenant.length === 0 || typeof payload.sub !== 'string' || payload.sub.length === 0) {
    throw geofedError('UNAUTHENTICATED', 'Authentication failed: the token needs a "sub" and a "tenant" claim.');
  }
  if (!Array.isArray(roles) || !roles.every((role): role is string => typeof role === 'string')) {
    throw geofedError('UNAUTHENTICATED', 'Authentication failed: the "roles" claim must be a list of strings.');
  }
  return { userId: payload.sub, tenantId: tenant, roles };
}
