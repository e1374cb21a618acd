import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayEnv } from '../gateway/env.js';
import { startGateway, type RunningGateway } from '../gateway/gateway.js';
import { copyLogLines } from '../runtime/logger.js';
import { firstUserOf } from '../subgraphs/index.js';
import { devToken, postGraphQL, startTestStack, type TestStack } from './fixtures/stack.js';

// A gateway whose secret does not match its subgraphs' (GEOFED_SUBGRAPH_SECRET) or the other regions' gateways'
// (GEOFED_GATEWAY_HOP_SECRET) is misconfigured: its clients get a 503 that says so, never a 401 that blames their
// token; the operator gets an error line naming the subgraph and region; the breaker counts it as a failure.

const wrongSecret = 'not-the-secret-the-deployment-shares-0123456789';
let t: TestStack;
const gateways: RunningGateway[] = [];

beforeAll(async () => {
  t = await startTestStack('pglite', { gateways: 'per-region' });
});
afterAll(async () => {
  await Promise.allSettled(gateways.map((gateway) => gateway.stop()));
  await t?.stop();
});

/** Another gateway of region us over the same subgraphs and peers, with one variable of its environment changed. */
async function misconfiguredGateway(variable: 'GEOFED_SUBGRAPH_SECRET' | 'GEOFED_GATEWAY_HOP_SECRET'): Promise<string> {
  const config = t.stack.config;
  const gateway = await startGateway({ config: { ...config, gateway: { ...config.gateway, port: 0 } }, env: gatewayEnv({ [variable]: wrongSecret }) });
  gateways.push(gateway);
  return `${gateway.url}/graphql`;
}

const outcome = (result: Awaited<ReturnType<typeof postGraphQL>>) => ({ status: result.status, codes: result.body.errors?.map((e) => e.extensions?.code) });

describe('a gateway with the wrong subgraph secret', () => {
  it('answers anonymous clients 503 SUBGRAPH_REJECTED_GATEWAY, never 401, and logs the subgraph and region', async () => {
    const url = await misconfiguredGateway('GEOFED_SUBGRAPH_SECRET');
    const lines: string[] = [];
    const stop = copyLogLines((line) => lines.push(line));
    let result;
    try {
      result = await postGraphQL(url, '{ products(first: 1) { id } }');
    } finally {
      stop();
    }
    expect(outcome(result)).toEqual({ status: 503, codes: ['SUBGRAPH_REJECTED_GATEWAY'] });
    expect(result.body.errors?.[0]?.message).toMatch(/misconfigured, not your request/);
    const logged = lines.map((line) => JSON.parse(line) as { level: number; subgraph?: string; region?: string; msg: string }).filter((line) => line.level >= 50 && /GEOFED_SUBGRAPH_SECRET/.test(line.msg));
    expect(logged.map(({ subgraph, region }) => ({ subgraph, region }))).toContainEqual({ subgraph: 'catalog', region: 'us' });
  });

  it('opens the breaker: after the threshold of refusals the subgraph is not even called', async () => {
    const url = await misconfiguredGateway('GEOFED_SUBGRAPH_SECRET');
    const catalog = t.stack.subgraph('catalog', 'us');
    for (let i = 0; i < 3; i += 1) await postGraphQL(url, '{ products(first: 1) { id } }');
    const before = catalog.requestCount();
    const failingFast = await postGraphQL(url, '{ products(first: 1) { id } }');
    expect(failingFast.status).toBe(503);
    // Global reads fail over to other regions' instances, which refuse it just the same; us is not called again.
    expect(catalog.requestCount()).toBe(before);
  });

  it('answers a signed-in client 503, never 401', async () => {
    const url = await misconfiguredGateway('GEOFED_SUBGRAPH_SECRET');
    const result = await postGraphQL(url, '{ me { name } }', { token: await devToken('globex', firstUserOf('globex')!.id) });
    // The tenants directory (the catalog) refuses the lookup first: the same misconfiguration, said the same way.
    expect(outcome(result)).toEqual({ status: 503, codes: ['SUBGRAPH_REJECTED_GATEWAY'] });
  });
});

describe('a gateway with the wrong hop secret', () => {
  it('answers a forwarded tenant 503 REGION_REJECTED_GATEWAY, never 401', async () => {
    const url = await misconfiguredGateway('GEOFED_GATEWAY_HOP_SECRET');
    const result = await postGraphQL(url, '{ me { name } }', { token: await devToken('acme', firstUserOf('acme')!.id) });
    expect(outcome(result)).toEqual({ status: 503, codes: ['REGION_REJECTED_GATEWAY'] });
  });
});
