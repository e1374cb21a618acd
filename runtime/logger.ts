import { AsyncLocalStorage } from 'node:async_hooks';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { activeTraceIds } from './tracing.js';

const standardOutput = pino.destination({ dest: 1, sync: false });
const destinations = pino.multistream([{ level: 'trace', stream: standardOutput }]);

/**
 * Fields every line logged while serving a request carries (the region of the
 * gateway that served it), whichever module logs: `logFields.run(fields, work)`.
 */
export const logFields = new AsyncLocalStorage<Readonly<Record<string, unknown>>>();

/** The request's fields, and while tracing is on the `trace_id` and `span_id` of the span the line was logged in. */
const mixin = () => {
  const fields = logFields.getStore() ?? {};
  const ids = activeTraceIds();
  return ids ? { ...fields, ...ids } : fields;
};

/** One structured logger for every process. Logs carry no PII and no variables. */
export const logger = pino({ level: 'info', base: { service: 'geofed' }, mixin }, destinations);

/** The audit trail: a level of its own, so that quieting the logs never silences it. */
export const auditLogger = pino({ level: 'info', base: { service: 'geofed', audit: true }, mixin }, destinations);

export interface LogLevels {
  /** pino level of the logs (`LOG_LEVEL`). @default 'info' */
  readonly log?: string;
  /** pino level of the audit trail (`GEOFED_AUDIT_LOG`). @default 'info' */
  readonly audit?: string;
}

/** Applies the levels a deployable read from its environment; the loggers start at `info`. */
export function setLogLevels({ log = 'info', audit = 'info' }: LogLevels): void {
  logger.level = log;
  auditLogger.level = audit;
}

/**
 * Sends a copy of every log and audit line to `onLine` (one JSON document per
 * line) until the returned function is called: the hook a log shipper, or a
 * test that reads the logs, attaches to.
 */
export function copyLogLines(onLine: (line: string) => void): () => void {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) onLine(line);
      done();
    },
  });
  destinations.add({ level: 'trace', stream });
  return () => remove(stream);
}

let stopRedirect: (() => void) | undefined;

/**
 * Sends every log and audit line to `onLine` instead of standard output, until
 * the returned function is called: for a host that owns the output, like the
 * test runner, which shows a test's lines only when that test fails. A later
 * call replaces the earlier one's `onLine`.
 */
export function redirectLogLines(onLine: (line: string) => void): () => void {
  stopRedirect?.();
  remove(standardOutput);
  const stopCopy = copyLogLines(onLine);
  const stop = () => {
    if (stopRedirect !== stop) return;
    stopRedirect = undefined;
    stopCopy();
    destinations.add({ level: 'trace', stream: standardOutput });
  };
  stopRedirect = stop;
  return stop;
}

function remove(stream: unknown): void {
  // pino's typings omit the id that multistream gives each entry.
  const entry = destinations.streams.find((s) => s.stream === stream) as { id?: number } | undefined;
  if (entry?.id !== undefined) destinations.remove(entry.id);
}
