import type { IncomingMessage, ServerResponse } from 'node:http';
import { context, INVALID_SPAN_CONTEXT, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import type { TraceContext } from '../protocol/signed-context.js';

/**
 * geofed's spans (docs/observability.md, "Traces"), written through the
 * OpenTelemetry API only: this module loads no SDK. Until tracing-sdk.ts
 * starts one (OTEL_EXPORTER_OTLP_ENDPOINT set, or a test's exporter), every
 * helper here runs its work directly and writes nothing, so a process that
 * does not trace pays one boolean test per step.
 */
const tracer = trace.getTracer('geofed');
let enabled = false;

/** Set by tracing-sdk.ts while an SDK is registered. */
export function setTracingEnabled(on: boolean): void {
  enabled = on;
}

export function tracingEnabled(): boolean {
  return enabled;
}

/** The attributes of geofed's spans. None holds personal data: no email, name, token, variable or document. */
export const traceAttributes = {
  subgraph: 'geofed.subgraph',
  /** The region whose instance was called (a fetch, a forward) or that serves (a subgraph's server span). */
  region: 'geofed.region',
  /** The caller's home region, from the tenants directory; absent for an anonymous caller. */
  tenantRegion: 'geofed.tenant_region',
  gatewayRegion: 'geofed.gateway_region',
  /** How the step ended, in a word of the step's own (`ok`, `shed`, `refused`, …). */
  outcome: 'geofed.outcome',
  /** The `extensions.code` of the first error an answer carried. */
  errorCode: 'geofed.error_code',
} as const;

export interface SpanOptions {
  /** @default SpanKind.INTERNAL */
  readonly kind?: SpanKind;
  readonly attributes?: Attributes;
  /** @default the active context */
  readonly parent?: Context;
  /** Milliseconds since the epoch, when the step began before its span could (a subgraph verifies first). */
  readonly startTime?: number;
}

/** A span that records nothing, handed to work run while tracing is off. */
const untraced: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/**
 * Runs `work` in a span of its own, made active so that the spans and the
 * trace context of what it calls hang under it; ended when `work` settles.
 * A throw marks the span an error with the error's code only (never its
 * message, which may name a tenant or quote a value).
 */
export function inSpan<T>(name: string, options: SpanOptions, work: (span: Span) => Promise<T>): Promise<T> {
  if (!enabled) return work(untraced);
  const { kind = SpanKind.INTERNAL, attributes, parent = context.active(), startTime } = options;
  return tracer.startActiveSpan(name, { kind, ...(attributes ? { attributes } : {}), ...(startTime !== undefined ? { startTime } : {}) }, parent, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      const code = errorCodeOf(error);
      span.setStatus({ code: SpanStatusCode.ERROR, ...(code !== undefined ? { message: code } : {}) });
      if (code !== undefined) span.setAttribute(traceAttributes.errorCode, code);
      throw error;
    } finally {
      span.end();
    }
  });
}

/**
 * An HTTP server span (`POST /graphql`) of a request that `parent` continues:
 * its method, path and status, never its query string (a GET carries its
 * variables there).
 */
export function inHttpServerSpan<T>(req: IncomingMessage, res: ServerResponse, options: Omit<SpanOptions, 'kind'>, work: (span: Span) => Promise<T>): Promise<T> {
  if (!enabled) return work(untraced);
  const method = req.method ?? 'GET';
  const path = (req.url ?? '/').split('?')[0]!;
  const attributes = { 'http.request.method': method, 'url.path': path, 'http.route': path, ...options.attributes };
  return inSpan(`${method} ${path}`, { ...options, kind: SpanKind.SERVER, attributes }, async (span) => {
    try {
      return await work(span);
    } finally {
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    }
  });
}

/**
 * The trace context a client sent (`traceparent`, `tracestate`): the public
 * endpoint continues it, as Apollo Router does (docs/observability.md).
 */
export function clientTraceParent(req: IncomingMessage): Context {
  return enabled ? propagation.extract(ROOT_CONTEXT, req.headers) : ROOT_CONTEXT;
}

/** The context a signed trace context continues; a new trace (the root) without one. */
export function signedTraceParent(signed: TraceContext | undefined): Context {
  return enabled && signed ? propagation.extract(ROOT_CONTEXT, signed) : ROOT_CONTEXT;
}

/**
 * The active span's W3C trace context, for a request geofed signs (a
 * subgraph fetch, a hop, a directory lookup); undefined while tracing is off
 * or nothing is traced, so that such a request carries none.
 */
export function activeTraceContext(): TraceContext | undefined {
  if (!enabled) return undefined;
  const carrier: { traceparent?: string; tracestate?: string } = {};
  propagation.inject(context.active(), carrier);
  if (carrier.traceparent === undefined) return undefined;
  return carrier.tracestate ? { traceparent: carrier.traceparent, tracestate: carrier.tracestate } : { traceparent: carrier.traceparent };
}

/** The ids of the active span, for a log line (runtime/logger.ts). */
export function activeTraceIds(): { trace_id: string; span_id: string } | undefined {
  if (!enabled) return undefined;
  const span = trace.getActiveSpan()?.spanContext();
  return span && trace.isSpanContextValid(span) ? { trace_id: span.traceId, span_id: span.spanId } : undefined;
}

function errorCodeOf(error: unknown): string | undefined {
  const code = (error as { extensions?: { code?: unknown }; code?: unknown } | undefined)?.extensions?.code ?? (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
