import { ErrorCode, resolverError } from '../../protocol/errors.js';
import type { SignedCaller } from '../../protocol/signed-context.js';

export type TenantCaller = SignedCaller & { readonly tenantId: string };
export type UserCaller = TenantCaller & { readonly userId: string };

export function requireTenant(caller: SignedCaller): TenantCaller {
  if (caller.tenantId === undefined) throw resolverError(ErrorCode.UNAUTHENTICATED, 'This field needs a signed-in caller: send a token.');
  return caller as TenantCaller;
}

export function requireUser(caller: SignedCaller): UserCaller {
  const tenantCaller = requireTenant(caller);
  if (tenantCaller.userId === undefined) throw resolverError(ErrorCode.UNAUTHENTICATED, 'This field needs a user token (a `sub` claim).');
  return tenantCaller as UserCaller;
}

export function requireRole(caller: SignedCaller, role: string): void {
  requireTenant(caller);
  if (!caller.roles.includes(role)) throw resolverError(ErrorCode.FORBIDDEN, `This operation needs the "${role}" role.`);
}

/** The largest page any list field serves, so that one argument cannot ask a database for everything. */
export const maxPageSize = 100;

/** The page size of a `first` argument; `fallback` (the SDL default) for an explicit null. */
export function pageSize(first: number | null | undefined, fallback: number, max = maxPageSize): number {
  const size = first ?? fallback;
  if (!Number.isInteger(size) || size < 0 || size > max) {
    throw resolverError(ErrorCode.BAD_USER_INPUT, `\`first\` must be between 0 and ${max}, got ${size}.`);
  }
  return size;
}
