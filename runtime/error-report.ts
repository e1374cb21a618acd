import { createHash } from 'node:crypto';

/** What a log line may say of an error: never its message or a driver's parameters, which can hold client values. */
export interface ErrorReport {
  /** The class of the error (`DrizzleQueryError`, `PostgresError`, `TypeError`…). */
  readonly errorClass: string;
  /** A code the error carries (a GraphQL code, a PostgreSQL SQLSTATE, a Node code), or null. */
  readonly code: string | null;
  /** The first 12 hex of the SHA-256 of the message: the same failure logs the same hash, with nothing readable in it. */
  readonly messageHash: string;
  /** The SQL statement without its parameters, when a query failed (parameters are client values). */
  readonly statementHash?: string;
  /** The same of each cause, outermost first. */
  readonly causes: readonly Omit<ErrorReport, 'causes'>[];
  /** Where it was thrown: the stack's frames, without the message line. */
  readonly frames: readonly string[];
}

const hash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);
/** Frames kept of a stack: enough to find the code, not a dump. */
const maxFrames = 8;
/** Causes followed: a cycle of causes must not loop. */
const maxCauses = 5;

function describeOne(error: unknown): Omit<ErrorReport, 'causes' | 'frames'> {
  if (!(error instanceof Error)) return { errorClass: typeof error, code: null, messageHash: hash(String(error)) };
  const { code, query } = error as { code?: unknown; query?: unknown };
  return {
    errorClass: error.constructor.name,
    code: typeof code === 'string' || typeof code === 'number' ? String(code) : ((error as { extensions?: { code?: unknown } }).extensions?.code as string | undefined) ?? null,
    messageHash: hash(error.message),
    ...(typeof query === 'string' ? { statementHash: hash(query) } : {}),
  };
}

/**
 * An error as the logs carry it: its class, code and hashes, its `cause`
 * chain the same way, and its stack frames. A failed resolver's SQL
 * parameters (names, emails) and a client's strings in a message never reach
 * a log line.
 */
export function describeError(error: unknown): ErrorReport {
  const causes: Omit<ErrorReport, 'causes'>[] = [];
  let cause = error instanceof Error ? error.cause : undefined;
  while (cause !== undefined && causes.length < maxCauses) {
    causes.push({ ...describeOne(cause), frames: [] });
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  const frames = error instanceof Error && error.stack ? error.stack.split('\n').filter((line) => /^\s+at /.test(line)).slice(0, maxFrames).map((line) => line.trim()) : [];
  return { ...describeOne(error), causes, frames };
}
