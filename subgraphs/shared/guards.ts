import { resolverError } from '../../gateway/errors.js';
import type { SignedCaller } from '../../gateway/signed-context.js';

export type TenantCaller = SignedCaller & { readonly tenantId: string };
export type UserCaller = TenantCaller & { readonly userId: string };

export function requireTenant(caller: SignedCaller): TenantCaller {
  if (caller.tenantId === undefined) throw resolverError('UNAUTHENTICATED', 'This field needs a signed-in caller: send a token.');
  return caller as TenantCaller;
}

export function requireUser(caller: SignedCaller): UserCaller {
  const tenantCaller = requireTenant(caller);
  if (tenantCaller.userId === undefined) throw resolverError('UNAUTHENTICATED', 'This field needs a user token (a `sub` claim).');
  return tenantCaller as UserCaller;
}

export function requireRole(caller: SignedCaller, role: string): void {
  requireTenant(caller);
  if (!caller.roles.includes(role)) throw resolverError('FORBIDDEN', `This operation needs the "${role}" role.`);
}

/** Page sizes are bounded so that one argument cannot ask a database for everything. */
export function pageSize(first: number | null | undefined, fallback: number, max = 100): number {
  const size = first ?? fallback;
  if (!Number.isInteger(size) || size < 0 || size > max) {
    throw resolverError('BAD_USER_INPUT', `\`first\` must be between 0 and ${max}, got ${size}.`);
  }
  return size;
}
