import { request } from 'undici';

export interface ProbeTarget { readonly name: string; readonly url: string }
export interface ReadinessReport { readonly ready: boolean; readonly subgraphs: Record<string, 'up' | 'down'> }

/**
 * `/readyz`: every subgraph instance of the gateway's region answers a trivial
 * query. Probes run in parallel with a short deadline, so a dead subgraph makes
 * the gateway not-ready quickly instead of hanging the orchestrator's check.
 */
export function readinessProbe(targets: readonly ProbeTarget[], timeoutMs = 1_000): () => Promise<ReadinessReport> {
  return async () => {
    const results = await Promise.all(targets.map(async (target) => [target.name, (await isUp(target.url, timeoutMs)) ? 'up' : 'down'] as const));
    return { ready: results.every(([, state]) => state === 'up'), subgraphs: Object.fromEntries(results) };
  };
}

async function isUp(url: string, timeoutMs: number): Promise<boolean> {
  try {
    const response = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query":"{ __typename }"}',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.body.dump();
    return response.statusCode === 200;
  } catch {
    return false;
  }
}
