import { Kind, visit, type DocumentNode, type GraphQLError } from 'graphql';
import { ErrorCode, geofedError } from './errors.js';

/**
 * PostgreSQL text cannot hold NUL (U+0000), and no field of geofed's means one:
 * a string argument or variable that carries one is the client's error,
 * refused where it enters (by the gateway, and again by each subgraph) rather
 * than failing in the database. Returns where the first one is, or undefined.
 */
export function findNulCharacter(document: DocumentNode, variables: unknown): string | undefined {
  let found: string | undefined;
  visit(document, {
    StringValue(node) {
      if (found === undefined && node.value.includes('\u0000')) found = 'a string in the document';
    },
  });
  return found ?? findInValue(variables, 'variables');
}

/** The BAD_USER_INPUT (400) error for a NUL in the request, or undefined. */
export function nulCharacterError(document: DocumentNode, variables: unknown): GraphQLError | undefined {
  const where = findNulCharacter(document, variables);
  return where === undefined ? undefined : geofedError(ErrorCode.BAD_USER_INPUT, `Strings may not contain NUL (\\u0000) characters: ${where} does.`);
}

function findInValue(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findInValue(item, `${path}[${index}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      // A key is the client's too: it is named only if it is printable.
      const found = findInValue(item, /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(key) ? `${path}.${key}` : `${path}[…]`);
      if (found) return found;
      if (key.includes('\u0000')) return `${path}[…]`;
    }
  }
  return undefined;
}

/** A document of the kinds geofed executes: queries and mutations (the schema has no subscriptions). */
export function unsupportedOperationKind(document: DocumentNode): string | undefined {
  return document.definitions.some((d) => d.kind === Kind.OPERATION_DEFINITION && d.operation === 'subscription') ? 'subscription' : undefined;
}
