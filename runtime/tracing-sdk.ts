import { context, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { UndiciInstrumentation, type UndiciRequest } from '@opentelemetry/instrumentation-undici';
import { NodeSDK } from '@opentelemetry/sdk-node';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { traceHeaders } from '../protocol/headers.js';
import { describeError } from './error-report.js';
import { logger } from './logger.js';
import { setTracingEnabled } from './tracing.js';

export interface TracingOptions {
  /**
   * Where finished spans go. @default a batch processor over the OTLP/HTTP exporter, configured by the
   * `OTEL_EXPORTER_OTLP_*` variables (a test passes a SimpleSpanProcessor over its InMemorySpanExporter)
   */
  readonly spanProcessors?: SpanProcessor[];
  /** The resource's `service.name`, unless `OTEL_SERVICE_NAME` says otherwise. @default 'geofed' */
  readonly serviceName?: string;
}

export interface RunningTracing {
  /** Flushes what is left, then unregisters everything it registered: geofed's helpers go back to doing nothing. */
  stop(): Promise<void>;
}

let running: RunningTracing | undefined;

/**
 * Starts OpenTelemetry's Node SDK for traces only (no metrics, no logs): the
 * W3C Trace Context propagator (no baggage: nothing a client sends rides
 * along unsigned), the async-local-storage context manager, and the undici
 * instrumentation for the outgoing HTTP geofed does not propagate itself
 * (Upstash REST, a JWKS): only within a traced request, and never a request
 * that carries geofed's signed trace context already, to which undici would
 * add a second, unsigned `traceparent` that breaks the signature.
 */
export function startTracing({ spanProcessors, serviceName = 'geofed' }: TracingOptions = {}): RunningTracing {
  if (running) throw new Error('tracing is started already in this process: stop it first');
  const undici = new UndiciInstrumentation({ requireParentforSpans: true, ignoreRequestHook: carriesTraceContext });
  const sdk = new NodeSDK({
    ...(spanProcessors ? { spanProcessors } : { traceExporter: new OTLPTraceExporter() }),
    instrumentations: [undici],
    textMapPropagator: new W3CTraceContextPropagator(),
    metricReaders: [],
    logRecordProcessors: [],
    ...(process.env.OTEL_SERVICE_NAME ? {} : { serviceName }),
  });
  sdk.start();
  setTracingEnabled(true);
  const started: RunningTracing = {
    async stop() {
      if (running !== started) return;
      running = undefined;
      setTracingEnabled(false);
      // A collector that cannot be reached loses the last spans, never fails the process's shutdown.
      await sdk.shutdown().catch((error: unknown) => logger.warn({ error: describeError(error) }, 'the last spans could not be exported'));
      undici.disable();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
  running = started;
  return started;
}

/** Whether undici is about to send a request that carries a trace context already (geofed's, signed). */
function carriesTraceContext({ headers }: UndiciRequest): boolean {
  if (typeof headers === 'string') return headers.toLowerCase().split('\r\n').some((line) => line.startsWith(`${traceHeaders.parent}:`));
  for (let i = 0; i < headers.length; i += 2) {
    if (String(headers[i]).toLowerCase() === traceHeaders.parent) return true;
  }
  return false;
}
