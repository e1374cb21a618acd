import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { signHop, verifyHop } from '../gateway/hop-signature.js';
import { signedHeaders, verifySignedRequest } from '../protocol/signed-context.js';
import { copyLogLines, logger } from '../runtime/logger.js';
import { startTracingFromEnv } from '../runtime/tracing-env.js';
import { startTracing, type RunningTracing } from '../runtime/tracing-sdk.js';
import { activeTraceContext, inSpan, tracingEnabled } from '../runtime/tracing.js';

// Unit files share their worker's modules (vitest.config.ts): tracing is started for this file only and
// stopped at its end, so that no other file runs with a tracer provider.
const exporter = new InMemorySpanExporter();
let tracing: RunningTracing;
beforeAll(() => {
  tracing = startTracing({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
});
afterAll(async () => {
  await tracing.stop();
  expect(tracingEnabled()).toBe(false);
});
beforeEach(() => exporter.reset());

const url = 'http://127.0.0.1:4202/graphql';
const body = '{"query":"{ me { email } }"}';
const caller = { tenantId: 'acme', userId: 'usr_acme_1', roles: [], region: 'eu' };
const trace = { traceparent: `00-${'1f'.repeat(16)}-${'2e'.repeat(8)}-01`, tracestate: 'vendor=value' };
const verify = (headers: Record<string, string>) => verifySignedRequest({ method: 'POST', path: '/graphql', headers, body }, { secrets: ['secret'], windowSeconds: 60 });

describe('logs inside a span', () => {
  it('carry the trace_id and span_id of the span they were written in, and none outside', async () => {
    const lines: Record<string, unknown>[] = [];
    const stop = copyLogLines((line) => lines.push(JSON.parse(line) as Record<string, unknown>));
    try {
      const ids = await inSpan('geofed.test', {}, async (span) => {
        logger.warn('inside a span');
        return span.spanContext();
      });
      logger.warn('outside any span');
      expect(lines.find((line) => line.msg === 'inside a span')).toMatchObject({ trace_id: ids.traceId, span_id: ids.spanId });
      expect(lines.find((line) => line.msg === 'outside any span')).not.toHaveProperty('trace_id');
    } finally {
      stop();
    }
  });
});

describe('the trace context inside a signature', () => {
  it('is signed (v3) and handed to the subgraph only when its signature covers it', () => {
    const signed = signedHeaders('secret', { method: 'POST', url, body, trace }, caller);
    expect(signed).toMatchObject({ traceparent: trace.traceparent, tracestate: trace.tracestate, 'x-geofed-signature': expect.stringMatching(/^v3=/) });
    expect(verify(signed)).toMatchObject({ ok: true, trace });
    expect(verify({ ...signed, traceparent: `00-${'1f'.repeat(16)}-${'3d'.repeat(8)}-01` })).toMatchObject({ ok: false, reason: 'the signature does not match' });
    expect(verify({ ...signed, tracestate: 'vendor=other' })).toMatchObject({ ok: false, reason: 'the signature does not match' });
    const { traceparent: _dropped, ...stripped } = signed;
    expect(verify(stripped)).toMatchObject({ ok: false, reason: 'the signature is malformed' });
  });

  it('is never read from a v2 signature, which covers none: a traceparent beside it is someone else\'s', () => {
    const unsigned = { ...signedHeaders('secret', { method: 'POST', url, body }, caller), traceparent: trace.traceparent };
    const verified = verify(unsigned);
    expect(verified).toMatchObject({ ok: true });
    expect(verified).not.toHaveProperty('trace');
  });

  it('signs a hop\'s trace context (v2) and refuses one changed on the way, never carrying the client\'s', () => {
    const client = { authorization: 'Bearer x', 'content-type': 'application/json', traceparent: `00-${'99'.repeat(16)}-${'88'.repeat(8)}-01` };
    const hop = { method: 'POST', target: '/graphql', headers: client, body: Buffer.from(body) };
    const signed = signHop('hop-secret', { ...hop, trace }, 'us');
    expect(signed).toMatchObject({ traceparent: trace.traceparent, 'x-geofed-hop-signature': expect.stringMatching(/^v2=/) });
    expect(verifyHop({ ...hop, headers: signed }, ['hop-secret'], 60)).toMatchObject({ hop: true, ok: true, trace });
    expect(verifyHop({ ...hop, headers: { ...signed, traceparent: client.traceparent } }, ['hop-secret'], 60)).toMatchObject({ hop: true, ok: false });
    expect(signHop('hop-secret', hop, 'us')).not.toHaveProperty('traceparent');
  });

  it('is what the active span propagates, and nothing outside a span', async () => {
    expect(activeTraceContext()).toBeUndefined();
    const propagated = await inSpan('geofed.test', {}, async (span) => ({ context: activeTraceContext(), span: span.spanContext() }));
    expect(propagated.context?.traceparent).toBe(`00-${propagated.span.traceId}-${propagated.span.spanId}-01`);
  });
});

describe('tracing from the environment', () => {
  it('stays off without an OTLP endpoint, or when the SDK is disabled', async () => {
    expect(await startTracingFromEnv({})).toBeUndefined();
    expect(await startTracingFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' })).toBeUndefined();
    expect(await startTracingFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_TRACES_EXPORTER: 'none' })).toBeUndefined();
  });
});
