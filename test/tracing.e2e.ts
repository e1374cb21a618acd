import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { gatewayEnv } from '../gateway/env.js';
import { signedHeaders } from '../protocol/signed-context.js';
import { startTracing, type RunningTracing } from '../runtime/tracing-sdk.js';
import { devToken, postGraphQL, startTestStack, type TestStack } from './fixtures/stack.js';
import { waitFor } from './fixtures/wait.js';

// One request's spans, read from an in-memory exporter: a gateway per region over every subgraph, in process.
// A tenant of the gateway's own region is served there; one homed elsewhere is forwarded, and its home
// gateway's spans join the same trace.

const exporter = new InMemorySpanExporter();
let tracing: RunningTracing;
let t: TestStack;

const ordersQuery = /* GraphQL */ `
  query MyOrders($productId: ID!) {
    me { name email orders(first: 2) { items { quantity product { name } } } }
    product(id: $productId) { name }
  }
`;
/** A variable's value no span may hold. */
const productId = 'prd_07';

beforeAll(async () => {
  tracing = startTracing({ spanProcessors: [new SimpleSpanProcessor(exporter)], serviceName: 'geofed-test' });
  t = await startTestStack('pglite', { gateways: 'per-region' });
}, 180_000);
afterAll(async () => {
  await t?.stop();
  await tracing?.stop();
});
beforeEach(() => exporter.reset());

const spanId = (span: ReadableSpan) => span.spanContext().spanId;
const traceId = (span: ReadableSpan) => span.spanContext().traceId;
const parentId = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const named = (spans: readonly ReadableSpan[], name: string) => spans.filter((span) => span.name === name);
const gatewayServer = (spans: readonly ReadableSpan[], region: string) => spans.find((span) => span.kind === SpanKind.SERVER && span.attributes['geofed.gateway_region'] === region);
const subgraphServers = (spans: readonly ReadableSpan[]) => spans.filter((span) => span.kind === SpanKind.SERVER && span.attributes['geofed.subgraph'] !== undefined);

/** The spans of one request, once its gateway's server span and every subgraph's have ended. */
async function spansOfOneRequest(rootRegion: string): Promise<ReadableSpan[]> {
  return waitFor(() => exporter.getFinishedSpans(), {
    until: (spans) => gatewayServer(spans, rootRegion) !== undefined && subgraphServers(spans).length >= named(spans, 'geofed.subgraph.fetch').length + named(spans, 'geofed.directory.lookup').length,
    what: 'the request\'s spans',
  });
}

/** The spans as an indented tree (names and parents), printed with a failing test. */
function tree(spans: readonly ReadableSpan[]): string {
  const children = (id: string | undefined) => spans.filter((span) => parentId(span) === id).sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
  const ids = new Set(spans.map(spanId));
  const lines: string[] = [];
  const walk = (span: ReadableSpan, depth: number) => {
    const where = ['geofed.subgraph', 'geofed.region', 'geofed.gateway_region'].map((key) => span.attributes[key]).filter((value) => value !== undefined);
    lines.push(`${'  '.repeat(depth)}${span.name}${where.length ? ` (${where.join(', ')})` : ''}`);
    for (const child of children(spanId(span))) walk(child, depth + 1);
  };
  for (const root of spans.filter((span) => parentId(span) === undefined || !ids.has(parentId(span)!))) walk(root, 0);
  return lines.join('\n');
}

describe('one request, one trace', () => {
  it('joins the gateway and the subgraphs it called, with the attributes of each fetch and nothing personal', async () => {
    const token = await devToken('globex', 'usr_globex_1');
    const answer = await postGraphQL(t.graphqlUrl, ordersQuery, { token, variables: { productId } });
    expect(answer.body.errors).toBeUndefined();
    const me = answer.body.data!.me as { name: string; email: string };
    const spans = await spansOfOneRequest('us');
    console.log(tree(spans));

    const root = gatewayServer(spans, 'us')!;
    expect(parentId(root)).toBeUndefined();
    expect(new Set(spans.map(traceId))).toEqual(new Set([traceId(root)]));
    expect(root.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.response.status_code': 200, 'geofed.tenant_region': 'us' });

    const operation = named(spans, 'geofed.operation')[0]!;
    expect(parentId(operation)).toBe(spanId(root));
    expect(operation.attributes).toMatchObject({ 'graphql.operation.name': 'MyOrders', 'graphql.operation.type': 'query', 'geofed.outcome': 'ok' });
    const [lookup] = named(spans, 'geofed.directory.lookup');
    expect(lookup?.attributes).toMatchObject({ 'geofed.outcome': 'found' });
    expect(parentId(lookup!)).toBe(spanId(root));
    const [debit] = named(spans, 'geofed.rate_limit.debit');
    expect(debit?.attributes).toMatchObject({ 'geofed.outcome': 'allowed' });
    expect(parentId(debit!)).toBe(spanId(operation));
    // Apollo Gateway's own spans, under the operation's: planned once (the plan is cached after), then executed.
    expect(named(spans, 'gateway.plan')).toHaveLength(1);
    expect(parentId(named(spans, 'gateway.request')[0]!)).toBe(spanId(operation));

    const fetches = named(spans, 'geofed.subgraph.fetch');
    expect(fetches.map((span) => span.attributes['geofed.subgraph']).sort()).toEqual(['catalog', 'catalog', 'orders', 'users'].sort());
    for (const fetch of fetches) {
      expect(fetch.kind).toBe(SpanKind.CLIENT);
      expect(fetch.attributes).toMatchObject({ 'geofed.region': 'us', 'geofed.tenant_region': 'us', 'geofed.outcome': 'ok' });
      expect(named(spans, 'gateway.fetch').map(spanId)).toContain(parentId(fetch));
    }
    // Each subgraph's server span continues the fetch (or the lookup) that called it, in its own subgraph and region.
    for (const server of subgraphServers(spans)) {
      const caller = spans.find((span) => spanId(span) === parentId(server))!;
      expect(caller.name).toMatch(/^geofed\.(subgraph\.fetch|directory\.lookup)$/);
      if (caller.name === 'geofed.subgraph.fetch') expect(server.attributes).toMatchObject({ 'geofed.subgraph': caller.attributes['geofed.subgraph'], 'geofed.region': caller.attributes['geofed.region'] });
      else expect(server.attributes['geofed.subgraph']).toBe('catalog');
    }
    const regionalServers = subgraphServers(spans).filter((span) => span.attributes['geofed.subgraph'] !== 'catalog');
    for (const server of regionalServers) expect(named(spans, 'geofed.db.transaction').some((span) => parentId(span) === spanId(server))).toBe(true);

    const recorded = JSON.stringify(spans.map((span) => [span.name, span.attributes, span.events, span.status]));
    for (const secret of [me.email, me.name, token, 'usr_globex_1', productId, 'variables', 'authorization']) expect(recorded).not.toContain(secret);
  });

  it('continues in the home region\'s gateway when the operation is forwarded there', async () => {
    const answer = await postGraphQL(t.graphqlUrl, ordersQuery, { token: await devToken('acme', 'usr_acme_1'), variables: { productId } });
    expect(answer.body.errors).toBeUndefined();
    const spans = await waitFor(() => exporter.getFinishedSpans(), { until: (all) => gatewayServer(all, 'us') !== undefined && gatewayServer(all, 'eu') !== undefined && subgraphServers(all).length >= named(all, 'geofed.subgraph.fetch').length, what: 'both gateways\' spans' });
    console.log(tree(spans));

    const here = gatewayServer(spans, 'us')!;
    expect(new Set(spans.map(traceId))).toEqual(new Set([traceId(here)]));
    const [forward] = named(spans, 'geofed.home_forward');
    expect(forward?.attributes).toMatchObject({ 'geofed.region': 'eu', 'geofed.outcome': 'ok', 'http.response.status_code': 200 });
    expect(parentId(forward!)).toBe(spanId(here));
    const home = gatewayServer(spans, 'eu')!;
    expect(parentId(home)).toBe(spanId(forward!));
    // Nothing of the operation ran in us: every fetch is the eu gateway's, to eu's instances.
    const fetches = named(spans, 'geofed.subgraph.fetch');
    expect(fetches.length).toBeGreaterThan(0);
    for (const fetch of fetches) expect(fetch.attributes).toMatchObject({ 'geofed.region': 'eu', 'geofed.tenant_region': 'eu' });
    expect(named(spans, 'geofed.operation').map(parentId)).toEqual([spanId(home)]);
  });
});

describe('a subgraph continues only a trace a gateway signed', () => {
  const secret = gatewayEnv({}).subgraphSecrets.current;
  const caller = { tenantId: 'globex', userId: 'usr_globex_1', roles: [], region: 'us' };
  const body = JSON.stringify({ query: '{ me { id } }' });
  const forged = { traceparent: `00-${'ab'.repeat(16)}-${'cd'.repeat(8)}-01` };
  const send = (headers: Record<string, string>) => fetch(t.stack.subgraph('users', 'us').url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  it('starts a trace of its own under a traceparent its signature does not cover', async () => {
    const url = t.stack.subgraph('users', 'us').url;
    const answer = await send({ ...signedHeaders(secret, { method: 'POST', url, body }, caller), ...forged });
    expect(answer.status).toBe(200);
    const [server] = await waitFor(() => subgraphServers(exporter.getFinishedSpans()), { until: (spans) => spans.length === 1, what: 'the subgraph\'s span' });
    expect(traceId(server!)).not.toBe('ab'.repeat(16));
    expect(server!.parentSpanContext).toBeUndefined();
  });

  it('refuses a request whose signed traceparent was changed on the way', async () => {
    const url = t.stack.subgraph('users', 'us').url;
    const signed = signedHeaders(secret, { method: 'POST', url, body, trace: { traceparent: `00-${'12'.repeat(16)}-${'34'.repeat(8)}-01` } }, caller);
    expect(signed['x-geofed-signature']).toMatch(/^v3=/);
    const answer = await send({ ...signed, ...forged });
    expect(answer.status).toBe(401);
    expect(((await answer.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('GATEWAY_SIGNATURE_REFUSED');
  });
});
