import { performance } from 'node:perf_hooks';
import type { GraphQLSchema } from 'graphql';
import { Client, type Dispatcher } from 'undici';
import { statusOf } from '../../protocol/errors.js';
import { pickCaller, TokenMint, type Caller } from './callers.js';
import { chooseTransport, envelope, type FuzzRequest } from './envelopes.js';
import { minimizeRequest } from './minimize.js';
import { mutateText } from './mutate.js';
import { apiSchemaOf, generateOperation, type GeneratedOperation } from './operations.js';
import { Random } from './random.js';
import { exchangeOnOneConnection } from './raw-http.js';

// The fuzz as a library: `runFuzz({ seed, count, concurrency, target })` sends `count` seeded cases to a
// running gateway, as an outside attacker would (HTTP only, no introspection: the operations come from
// the supergraph's API schema), and returns the report. `npm run fuzz` (bench/fuzz/main.ts) and
// test/fuzz-short.e2e.ts share it.

/** A running gateway and the HS256 secret it verifies tokens with (the fuzz signs its own tokens). */
export interface FuzzTarget {
  /** Base URL: GraphQL on `${url}/graphql`, liveness on `${url}/healthz`. */
  readonly url: string;
  readonly jwtSecret: string;
}

export interface FuzzOptions {
  readonly seed: number;
  readonly count: number;
  /** Requests in flight at once. */
  readonly concurrency: number;
  readonly target: FuzzTarget;
  /** A request unanswered after this is a hang. @default 10_000 */
  readonly deadlineMs?: number;
  /** Shrink one request of each distinct 5xx to the smallest that still gets it (sequential re-sends). @default false */
  readonly minimize?: boolean;
  /** Called with a progress line every `progressEvery` cases. */
  readonly onProgress?: (line: string) => void;
  /** @default 1000 */
  readonly progressEvery?: number;
  /** Attaches to the stack's logs (warn and above), to tell internal errors apart behind the one masked message. */
  readonly captureLogs?: (onLine: (line: string) => void) => () => void;
  /** Records uncaught exceptions and unhandled rejections of this process as crashes instead of dying, and counts its warnings (the stack runs in process). */
  readonly trapProcessErrors?: boolean;
  /** @default the API schema of schema/supergraph.graphql */
  readonly schema?: GraphQLSchema;
  /** Served-with-data floor, as a fraction of the cases. @default 0.15 */
  readonly minServedRatio?: number;
}

/** One generated case: deterministic for (seed, index), except the timestamps inside its tokens. */
export interface FuzzCase {
  readonly index: number;
  readonly caller: Caller;
  readonly operation: GeneratedOperation;
  /** The document was corrupted by the text mutator. */
  readonly mutated: boolean;
  readonly shape: string;
  readonly request: FuzzRequest;
}

export type Outcome =
  | {
      readonly kind: 'response';
      readonly status: number;
      readonly text: string;
      readonly body: unknown;
      readonly code: string | undefined;
      readonly message: string | undefined;
      readonly hasData: boolean;
      readonly durationMs: number;
      /** A request over a bare connection: the next request on it got no answer (`unanswered`), or the connection closed instead though the answer did not say `connection: close`. */
      readonly followUp?: 'unanswered' | 'closed-unanswered';
    }
  | { readonly kind: 'hang'; readonly durationMs: number }
  | { readonly kind: 'network-error'; readonly message: string; readonly durationMs: number };

/** A request as the report prints it: bodies over a few KB are cut (the replay command sends them whole). */
export interface PrintedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly bodyBytes?: number;
  readonly bodyBase64?: string;
  /** Sent on a bare connection, followed by `GET /healthz` on it; the header lines sent as bytes (latin1). */
  readonly transport?: 'reuse';
  readonly rawHeaderLines?: readonly string[];
}

export interface Sample {
  readonly status: number | 'hang' | 'network-error';
  readonly code: string | undefined;
  readonly messagePrefix: string;
  count: number;
  /** Case indexes that got it (the first few): `npm run fuzz -- --seed S --replay I` sends one again. */
  readonly cases: number[];
  /** The smallest request of these cases, and the case's description. */
  smallest: { readonly index: number; readonly caller: string; readonly shape: string; readonly mutated: boolean; readonly defects: readonly string[]; readonly request: PrintedRequest; readonly size: number };
  /** A hang or a reset: the request sent just before on the same keep-alive connection (it may be the cause). */
  previousOnConnection?: { readonly index: number; readonly status: string; readonly shape: string; readonly request: PrintedRequest };
  /** After shrinking (with `minimize`): the smallest request found that still gets the same answer. */
  minimized?: { readonly request: PrintedRequest; readonly attempts: number; readonly serverLog: readonly string[] };
}

export interface Finding {
  readonly oracle: 'leak' | 'bad-token-served' | 'admin-bypass' | 'cross-tenant-data';
  readonly index: number;
  readonly detail: string;
  readonly request: PrintedRequest;
}

export interface FuzzReport {
  readonly seed: number;
  readonly count: number;
  readonly concurrency: number;
  readonly deadlineMs: number;
  /** Cases sent (fewer than `count` if the stack crashed). */
  sent: number;
  durationMs: number;
  readonly byStatus: Record<string, number>;
  /** The first error's `extensions.code`; `-` for a response without errors. */
  readonly byCode: Record<string, number>;
  /** `status code` pairs: how each code was answered. */
  readonly byStatusAndCode: Record<string, number>;
  /** By caller kind and by envelope shape: what the generators produced, and the statuses each got. */
  readonly byCaller: Record<string, Record<string, number>>;
  readonly byShape: Record<string, Record<string, number>>;
  /** 200 with non-null `data`. */
  servedWithData: number;
  servedRatio: number;
  fiveXX: number;
  /**
   * One entry per distinct (status, code, message prefix) of a 5xx, a hang or a network error (a
   * request unanswered on a connection reused after an answer counts as a hang of its own).
   */
  readonly failures: Sample[];
  hangs: number;
  networkErrors: number;
  readonly crashes: string[];
  readonly findings: Finding[];
  /**
   * Answers that disagree with docs/errors.md, by `status code`: a code outside the registry, or a
   * response without data whose status is not its first code's (405 and 406, Apollo's method and
   * content negotiation, aside). Reported; they do not fail the run by themselves.
   */
  readonly contract: Record<string, { count: number; cases: number[]; request: PrintedRequest }>;
  /** Distinct warn-or-worse lines the stack logged (by message and error), with counts. */
  readonly serverLog: Record<string, number>;
  latencyMs: { p50: number; p99: number; max: number };
  /** Why the run fails; empty when it passes. */
  problems: string[];
  ok: boolean;
}

/** The case of (seed, index): caller, operation (maybe corrupted) and envelope, all from one seeded generator. */
export async function generateCase(seed: number, index: number, schema: GraphQLSchema, mint: TokenMint): Promise<FuzzCase> {
  const rng = new Random(seed, index);
  const caller = await pickCaller(rng, mint);
  const operation = generateOperation(rng, schema, { tenant: caller.tenant });
  const mutated = rng.chance(0.15);
  const document = mutated ? mutateText(rng, operation.document) : operation.document;
  const { shape, request } = envelope(rng, operation, document, caller);
  return { index, caller, operation, mutated, shape, request: chooseTransport(rng, request) };
}

const bodyBytes = (request: FuzzRequest) => (request.body === undefined ? 0 : Buffer.byteLength(request.body));

export function printRequest(request: FuzzRequest, maxBody = 4_000): PrintedRequest {
  const { method, path } = request;
  const { headers } = request;
  const extra = {
    ...(request.transport ? { transport: request.transport } : {}),
    ...(request.rawHeaderLines ? { rawHeaderLines: request.rawHeaderLines.map((line) => (line.length > 200 ? `${line.subarray(0, 200).toString('latin1')}… (${line.length} bytes)` : line.toString('latin1'))) } : {}),
  };
  const printedPath = path.length > maxBody ? `${path.slice(0, maxBody)}… (${path.length} characters)` : path;
  if (request.body === undefined) return { method, path: printedPath, headers, ...extra };
  const bytes = bodyBytes(request);
  if (Buffer.isBuffer(request.body)) {
    const valid = Buffer.from(request.body.toString('utf8')).equals(request.body);
    if (!valid) return { method, path: printedPath, headers, bodyBytes: bytes, bodyBase64: request.body.subarray(0, maxBody).toString('base64'), ...extra };
  }
  const text = request.body.toString();
  return { method, path: printedPath, headers, body: text.length > maxBody ? `${text.slice(0, maxBody)}… (${bytes} bytes)` : text, bodyBytes: bytes, ...extra };
}

/** Where requests go: an HTTP client connection (or any dispatcher), and the origin for bare sockets. */
export interface Connection {
  readonly client: Dispatcher;
  readonly origin: URL;
}

function responseOutcome(status: number, text: string, durationMs: number, followUp?: 'unanswered' | 'closed-unanswered'): Outcome {
  let body: unknown;
  try {
    body = text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  const single = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as { data?: unknown; errors?: { message?: unknown; extensions?: { code?: unknown } }[] }) : undefined;
  const first = Array.isArray(single?.errors) ? single.errors[0] : undefined;
  const code = first ? (typeof first.extensions?.code === 'string' ? first.extensions.code : '(no code)') : body === undefined && text.length > 0 ? '(not JSON)' : undefined;
  const message = first ? String(first.message) : body === undefined ? text.slice(0, 120) : undefined;
  const hasData = status === 200 && single?.data !== null && single?.data !== undefined;
  return { kind: 'response', status, text, body, code, message, hasData, durationMs, ...(followUp ? { followUp } : {}) };
}

/** Sends one request and reads its answer within the deadline; never throws. */
export async function send(connection: Connection, request: FuzzRequest, deadlineMs: number): Promise<Outcome> {
  const started = performance.now();
  if (request.transport === 'reuse') {
    const exchange = await exchangeOnOneConnection(connection.origin, request, deadlineMs);
    const durationMs = performance.now() - started;
    if (exchange.kind !== 'answered') return exchange.kind === 'hang' ? { kind: 'hang', durationMs } : { kind: 'network-error', message: exchange.message, durationMs };
    const followUp = exchange.followUp === 'unanswered' || exchange.followUp === 'closed-unanswered' ? exchange.followUp : undefined;
    return responseOutcome(exchange.first.status, exchange.first.body, durationMs, followUp);
  }
  const signal = AbortSignal.timeout(deadlineMs);
  try {
    const response = await connection.client.request({ method: request.method as 'GET', path: request.path, headers: request.headers, ...(request.body !== undefined ? { body: request.body } : {}), signal });
    const text = await response.body.text();
    return responseOutcome(response.statusCode, text, performance.now() - started);
  } catch (error) {
    const durationMs = performance.now() - started;
    if (signal.aborted) return { kind: 'hang', durationMs };
    const cause = (error as { code?: string; message?: string }).code ?? (error as Error).message;
    return { kind: 'network-error', message: String(cause), durationMs };
  }
}

/** A message's first 60 characters, with what it quotes of the request left out ("Unknown operation named "…""). */
export function messagePrefix(message: string): string {
  return message.replace(/\s+/g, ' ').replace(/"[^"]*"/g, '"…"').slice(0, 60);
}

/** The answer of an outcome that makes the run fail (5xx, hang, no answer), as a sample key; undefined otherwise. */
export function failureKey(outcome: Outcome): { status: Sample['status']; code: string | undefined; messagePrefix: string } | undefined {
  if (outcome.kind === 'hang') return { status: 'hang', code: undefined, messagePrefix: `no answer within the deadline` };
  if (outcome.kind === 'network-error') return { status: 'network-error', code: undefined, messagePrefix: outcome.message.slice(0, 60) };
  if (outcome.followUp === 'unanswered') return { status: 'hang', code: outcome.code, messagePrefix: `answered ${outcome.status}, then never answered the next request on the keep-alive connection` };
  if (outcome.followUp === 'closed-unanswered') return { status: 'network-error', code: outcome.code, messagePrefix: `answered ${outcome.status} (keep-alive), then closed the connection without answering the next request` };
  if (outcome.status < 500) return undefined;
  return { status: outcome.status, code: outcome.code, messagePrefix: messagePrefix(outcome.message ?? '') };
}

const sameFailure = (a: ReturnType<typeof failureKey>, b: ReturnType<typeof failureKey>) => a !== undefined && b !== undefined && a.status === b.status && a.code === b.code && a.messagePrefix === b.messagePrefix;

const leakPattern = /127\.0\.0\.1|localhost:\d|ECONNREFUSED|ECONNRESET|\n\s+at |"stacktrace"|\bselect\b[^"]{0,80}\bfrom\b|relation "|syntax error at or near|node_modules|postgres(ql)?:\/\//i;
const emailDomain = /@(acme|globex|initech|umbrella)\.example/g;

/** The oracles besides the status: what a response must never contain, whatever its status. */
function findingsOf(c: FuzzCase, outcome: Outcome): Omit<Finding, 'index' | 'request'>[] {
  if (outcome.kind !== 'response') return [];
  const found: Omit<Finding, 'index' | 'request'>[] = [];
  const body = outcome.body as { data?: unknown; errors?: unknown } | undefined;
  const errors = body && typeof body === 'object' ? JSON.stringify(body.errors ?? null) : '';
  const leak = errors.match(leakPattern);
  if (leak) found.push({ oracle: 'leak', detail: `an error carries "${leak[0]}": ${errors.slice(Math.max(0, (leak.index ?? 0) - 60), (leak.index ?? 0) + 60)}` });
  if (!outcome.hasData) return found;
  const data = (body as { data: unknown }).data;
  if (c.caller.expect === 'refused') found.push({ oracle: 'bad-token-served', detail: `a ${c.caller.kind} token was served data (${outcome.status})` });
  const op = c.operation;
  if (!c.mutated && op.kind === 'mutation' && op.rootFields.length === 1 && op.rootFields[0] === 'upsertProduct' && !c.caller.admin && c.shape === 'post' && Object.keys(data as object).length > 0) {
    found.push({ oracle: 'admin-bypass', detail: `upsertProduct ran for a ${c.caller.kind} caller without the admin role: ${JSON.stringify(data).slice(0, 200)}` });
  }
  // Personal data (an email) of another tenant than the caller's; an anonymous caller gets none at all.
  const others = [...JSON.stringify(data).matchAll(emailDomain)].map((m) => m[1]).filter((tenant) => c.caller.authorization === undefined || tenant !== c.caller.tenant);
  if (others.length > 0) found.push({ oracle: 'cross-tenant-data', detail: `a ${c.caller.kind} caller of ${c.caller.authorization ? c.caller.tenant : 'no tenant'} got personal data of ${[...new Set(others)].join(', ')}` });
  return found;
}

/** `status code` when the answer disagrees with the registry of docs/errors.md (protocol/errors.ts). */
function contractMismatch(outcome: Outcome, request: FuzzRequest): string | undefined {
  if (outcome.kind !== 'response') return undefined;
  // Node's own refusals (431, a header too large) and Apollo's method and content negotiation (405, 406) aside.
  const http = outcome.status === 431 || outcome.status === 405 || outcome.status === 406 || request.method === 'HEAD' || request.method === 'OPTIONS';
  if (outcome.code === undefined && outcome.status >= 400 && !http) return `${outcome.status} without an error in the body`;
  if (outcome.code === undefined || outcome.code === '(not JSON)') return undefined;
  const expected = statusOf(outcome.code);
  const data = (outcome.body as { data?: unknown } | undefined)?.data;
  if (expected === undefined) return `${outcome.status} ${outcome.code} (not a code of the registry)`;
  if ((data === null || data === undefined) && outcome.status !== expected && outcome.status !== 405 && outcome.status !== 406) return `${outcome.status} ${outcome.code} (the registry says ${expected})`;
  return undefined;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

const increment = (counts: Record<string, number>, key: string) => void (counts[key] = (counts[key] ?? 0) + 1);

/** A short, stable description of a log line: its message and its error's type and message. */
function logKey(line: string): string | undefined {
  try {
    const entry = JSON.parse(line) as { level?: number; msg?: string; err?: { type?: string; message?: string } };
    if ((entry.level ?? 0) < 40) return undefined;
    const err = entry.err ? ` — ${entry.err.type ?? 'Error'}: ${String(entry.err.message ?? '').replace(/\s+/g, ' ').slice(0, 140)}` : '';
    return `${entry.level! >= 50 ? 'error' : 'warn'}: ${entry.msg ?? ''}${err}`;
  } catch {
    return `unparsed: ${line.slice(0, 160)}`;
  }
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const { seed, count, concurrency, target, deadlineMs = 10_000, minimize = false, onProgress, progressEvery = 1_000, captureLogs, trapProcessErrors = false, minServedRatio = 0.15 } = options;
  const schema = options.schema ?? apiSchemaOf();
  const mint = new TokenMint(target.jwtSecret);
  const origin = new URL(target.url).origin;
  // One keep-alive connection per worker, as clients hold them: a hang or a reset then names the request
  // sent before it on the same connection. Health checks and the minimizer have connections of their own.
  const clients: Client[] = [];
  const connection = (): Connection => {
    const client = new Client(origin, { pipelining: 1, headersTimeout: deadlineMs * 2, bodyTimeout: deadlineMs * 2 });
    clients.push(client);
    return { client, origin: new URL(origin) };
  };
  const control = connection();
  const report: FuzzReport = {
    seed, count, concurrency, deadlineMs, sent: 0, durationMs: 0,
    byStatus: {}, byCode: {}, byStatusAndCode: {}, byCaller: {}, byShape: {},
    servedWithData: 0, servedRatio: 0, fiveXX: 0, failures: [], hangs: 0, networkErrors: 0, crashes: [], findings: [], contract: {}, serverLog: {},
    latencyMs: { p50: 0, p99: 0, max: 0 }, problems: [], ok: false,
  };
  const durations: number[] = [];
  const samples = new Map<string, { sample: Sample; request: FuzzRequest }>();
  const stopLogs = captureLogs?.((line) => {
    const key = logKey(line);
    if (key) increment(report.serverLog, key);
  });
  // A warning of the stack's process (a route that threw: runtime/http-server.ts) is counted with the logs.
  const onWarning = (warning: Error) => increment(report.serverLog, `process warning: ${warning.message.split('\n')[0]!.slice(0, 200)}`);
  const onProcessError = (error: unknown) => report.crashes.push(`uncaught in process: ${(error as Error)?.stack?.split('\n').slice(0, 3).join(' | ') ?? String(error)}`);
  if (trapProcessErrors) {
    process.on('uncaughtException', onProcessError);
    process.on('unhandledRejection', onProcessError);
    process.on('warning', onWarning);
  }
  const healthy = async (): Promise<boolean> => {
    const outcome = await send(control, { method: 'GET', path: '/healthz', headers: {} }, 5_000);
    return outcome.kind === 'response' && outcome.status === 200;
  };
  const started = performance.now();
  let next = 0;
  let done = 0;
  let crashed = false;
  const progress = () => {
    const s = report.byStatus;
    const range = (lo: number, hi: number) => Object.entries(s).filter(([k]) => Number(k) >= lo && Number(k) < hi).reduce((n, [, v]) => n + v, 0);
    return `[fuzz] ${String(done).padStart(String(count).length)}/${count}  2xx ${range(200, 300)} (data ${report.servedWithData})  4xx ${range(400, 500)}  5xx ${report.fiveXX}  hangs ${report.hangs}  no-answer ${report.networkErrors}  findings ${report.findings.length}  ${((performance.now() - started) / 1000).toFixed(1)} s`;
  };
  const record = (c: FuzzCase, outcome: Outcome, previous: { c: FuzzCase; status: string } | undefined) => {
    report.sent += 1;
    durations.push(outcome.durationMs);
    const status = outcome.kind === 'response' ? String(outcome.status) : outcome.kind === 'hang' ? 'hang' : 'no answer';
    increment((report.byCaller[c.caller.kind] ??= {}), status);
    increment((report.byShape[c.mutated ? `${c.shape}+mutated` : c.shape] ??= {}), status);
    if (outcome.kind === 'response') {
      increment(report.byStatus, String(outcome.status));
      increment(report.byCode, outcome.code ?? '-');
      increment(report.byStatusAndCode, `${outcome.status} ${outcome.code ?? '-'}`);
      if (outcome.hasData) report.servedWithData += 1;
      if (outcome.status >= 500) report.fiveXX += 1;
      // The request after it on the same connection: unanswered is a hang, a close without an answer a reset.
      if (outcome.followUp === 'unanswered') report.hangs += 1;
      if (outcome.followUp === 'closed-unanswered') report.networkErrors += 1;
    } else if (outcome.kind === 'hang') {
      increment(report.byStatus, status);
      report.hangs += 1;
    } else {
      increment(report.byStatus, status);
      report.networkErrors += 1;
    }
    const mismatch = contractMismatch(outcome, c.request);
    if (mismatch) {
      const entry = (report.contract[mismatch] ??= { count: 0, cases: [], request: printRequest(c.request) });
      entry.count += 1;
      if (entry.cases.length < 10) entry.cases.push(c.index);
    }
    for (const finding of findingsOf(c, outcome)) if (report.findings.length < 200) report.findings.push({ ...finding, index: c.index, request: printRequest(c.request) });
    const key = failureKey(outcome);
    if (!key) return;
    const id = `${key.status} ${key.code ?? ''} ${key.messagePrefix}`;
    const size = bodyBytes(c.request) + c.request.path.length;
    const describe = () => ({ index: c.index, caller: c.caller.kind, shape: c.mutated ? `${c.shape}+mutated` : c.shape, mutated: c.mutated, defects: c.operation.defects, request: printRequest(c.request), size });
    const existing = samples.get(id);
    if (!existing) {
      const sample: Sample = { ...key, count: 1, cases: [c.index], smallest: describe() };
      if (outcome.kind !== 'response' && previous) sample.previousOnConnection = { index: previous.c.index, status: previous.status, shape: previous.c.shape, request: printRequest(previous.c.request) };
      samples.set(id, { sample, request: c.request });
      report.failures.push(sample);
      return;
    }
    existing.sample.count += 1;
    if (existing.sample.cases.length < 10) existing.sample.cases.push(c.index);
    if (size < existing.sample.smallest.size) {
      existing.sample.smallest = describe();
      existing.request = c.request;
    }
  };
  const worker = async () => {
    const client = connection();
    let previous: { c: FuzzCase; status: string } | undefined;
    while (!crashed && next < count) {
      const index = next;
      next += 1;
      const c = await generateCase(seed, index, schema, mint);
      const outcome = await send(client, c.request, deadlineMs);
      record(c, outcome, previous);
      previous = { c, status: outcome.kind === 'response' ? String(outcome.status) : outcome.kind };
      if (outcome.kind === 'network-error' && !crashed && !(await healthy())) {
        crashed = true;
        report.crashes.push(`/healthz stopped answering after case ${index} (${outcome.message})`);
      }
      done += 1;
      if (done % progressEvery === 0 || done === count) {
        onProgress?.(progress());
        if (done % progressEvery === 0 && !crashed && !(await healthy())) {
          crashed = true;
          report.crashes.push(`/healthz stopped answering after ${done} cases`);
        }
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
    if (!crashed && !(await healthy())) report.crashes.push(`/healthz stopped answering at the end of the run`);
    report.durationMs = performance.now() - started;
    if (minimize && report.crashes.length === 0) {
      for (const { sample, request } of samples.values()) {
        // Hangs and unanswered connections take seconds a try: they are reported as found.
        if (typeof sample.status !== 'number') continue;
        const lines: string[] = [];
        const result = await minimizeRequest(request, async (candidate) => sameFailure(failureKey(await send(control, candidate, deadlineMs)), sample));
        const stop = captureLogs?.((line) => lines.push(line));
        await send(control, result.request, deadlineMs);
        await new Promise((resolve) => setTimeout(resolve, 50));
        stop?.();
        sample.minimized = { request: printRequest(result.request), attempts: result.attempts, serverLog: [...new Set(lines.map(logKey).filter((k): k is string => k !== undefined))] };
      }
    }
  } finally {
    stopLogs?.();
    if (trapProcessErrors) {
      process.off('uncaughtException', onProcessError);
      process.off('unhandledRejection', onProcessError);
      process.off('warning', onWarning);
    }
    await Promise.all(clients.map((client) => client.destroy()));
  }
  durations.sort((a, b) => a - b);
  report.latencyMs = { p50: percentile(durations, 0.5), p99: percentile(durations, 0.99), max: durations.at(-1) ?? 0 };
  report.servedRatio = report.sent === 0 ? 0 : report.servedWithData / count;
  report.failures.sort((a, b) => b.count - a.count);
  const problems: string[] = [];
  if (report.fiveXX > 0) problems.push(`${report.fiveXX} responses with a 5xx status (${report.failures.filter((f) => typeof f.status === 'number').length} distinct)`);
  if (report.hangs > 0) problems.push(`${report.hangs} requests unanswered after ${deadlineMs} ms`);
  if (report.networkErrors > 0) problems.push(`${report.networkErrors} requests got no HTTP answer (connection reset or closed)`);
  if (report.crashes.length > 0) problems.push(`crash: ${report.crashes.join('; ')}`);
  if (report.servedRatio < minServedRatio) problems.push(`only ${(report.servedRatio * 100).toFixed(1)}% of the operations were served 200 with data (the floor is ${minServedRatio * 100}%)`);
  if (report.findings.length > 0) problems.push(`${report.findings.length} security findings (${[...new Set(report.findings.map((f) => f.oracle))].join(', ')})`);
  report.problems = problems;
  report.ok = problems.length === 0;
  return report;
}
