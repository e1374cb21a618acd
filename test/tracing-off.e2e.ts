import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExportResultCode } from '@opentelemetry/core';
import { SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropInConfig, readComposedSupergraph } from '../gateway/drop-in.js';
import { gatewayEnv } from '../gateway/env.js';
import { startGateway, type RunningGateway } from '../gateway/gateway.js';
import { startTracing, type RunningTracing } from '../runtime/tracing-sdk.js';
import { startDemoGraph, type DemoGraph } from './fixtures/demo-graph.js';
import { postGraphQL } from './fixtures/stack.js';
import { waitFor } from './fixtures/wait.js';

// Tracing is off unless started: then a subgraph receives no trace header, whatever the client sent, and the
// wire is what it was before tracing existed (v2 signatures). Turned on, the same gateway continues the client's
// trace and signs it to the subgraphs; turned off again, nothing more is exported.

let graph: DemoGraph;
let gateway: RunningGateway;
let tracing: RunningTracing | undefined;
/** Every span exported, kept past the SDK's shutdown (an InMemorySpanExporter forgets its spans then). */
const exported: ReadableSpan[] = [];
const exporter: SpanExporter = {
  export: (spans, done) => {
    exported.push(...spans);
    done({ code: ExportResultCode.SUCCESS });
  },
  shutdown: async () => undefined,
};
const clientTrace = `00-${'5a'.repeat(16)}-${'6b'.repeat(8)}-01`;
const query = /* GraphQL */ `query Top { topProducts(first: 2) { name reviews { body } } }`;

beforeAll(async () => {
  graph = await startDemoGraph();
  const folder = mkdtempSync(join(tmpdir(), 'geofed-tracing-off-'));
  const supergraphFile = join(folder, 'supergraph.graphql');
  writeFileSync(supergraphFile, graph.supergraphSdl);
  const config = dropInConfig(supergraphFile);
  gateway = await startGateway({ config: { ...config, gateway: { ...config.gateway, port: 0 } }, env: gatewayEnv({}), compose: readComposedSupergraph });
});
afterAll(async () => {
  await tracing?.stop();
  await gateway?.stop();
  await graph?.stop();
});

/** The headers of every subgraph request the gateway sent for one client request. */
async function fetchesOf(send: () => Promise<unknown>) {
  const before = new Map([...graph.received].map(([name, seen]) => [name, seen.length]));
  await send();
  return [...graph.received].flatMap(([name, seen]) => seen.slice(before.get(name)));
}

const sendTop = () => postGraphQL(`${gateway.url}/graphql`, query, { headers: { traceparent: clientTrace, tracestate: 'client=1' } });

describe('tracing off', () => {
  it('sends subgraphs no trace header, not even the client\'s, and signs as before', async () => {
    const fetches = await fetchesOf(sendTop);
    expect(fetches.length).toBeGreaterThan(1);
    for (const headers of fetches) {
      expect(headers).not.toHaveProperty('traceparent');
      expect(headers).not.toHaveProperty('tracestate');
      expect(headers['x-geofed-signature']).toMatch(/^v2=/);
    }
  });

  it('continues the client\'s trace once started, signed to the subgraphs, and exports nothing once stopped', async () => {
    tracing = startTracing({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const traced = await fetchesOf(sendTop);
    for (const headers of traced) {
      expect(headers.traceparent).toMatch(new RegExp(`^00-${'5a'.repeat(16)}-[0-9a-f]{16}-01$`));
      expect(headers['x-geofed-signature']).toMatch(/^v3=/);
    }
    const root = await waitFor(() => exported.find((span) => span.name === 'POST /graphql'), { what: 'the gateway\'s span' });
    expect(root!.parentSpanContext?.spanId).toBe('6b'.repeat(8));
    await tracing.stop();
    tracing = undefined;
    const count = exported.length;
    const after = await fetchesOf(sendTop);
    for (const headers of after) expect(headers).not.toHaveProperty('traceparent');
    expect(exported).toHaveLength(count);
  });
});
