import { clientHeaders } from '../../protocol/headers.js';
import type { ProbeSettings } from './settings.js';

// One round of synthetic probes: each operation of `probes.operations`, `probes.requests` times, through each
// region's gateway, over real HTTP as a client sends it; then each region's figures against the SLOs.

/** A region's gateway, as clients and the other gateways reach it (`gateways.<region>.url`). */
export interface ProbeTarget {
  readonly region: string;
  readonly url: string;
}

export interface OperationFigures {
  readonly operation: string;
  readonly requests: number;
  readonly errors: number;
  /** Latency of the requests that succeeded; null when none did. */
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
  /** What the last failed request got (`HTTP 503 REGION_UNAVAILABLE`, `timed out after 2000 ms`). */
  readonly lastError?: string;
}

export interface RegionFigures extends Omit<OperationFigures, 'operation'> {
  readonly region: string;
  readonly url: string;
  readonly errorRate: number;
  readonly operations: readonly OperationFigures[];
  /** Signed-in operations not sent: the region has no probe tenant (`probes.tenants.<region>`). */
  readonly skipped: readonly string[];
}

/** A figure of a region above its SLO. */
export interface SloBreach {
  readonly region: string;
  readonly figure: 'p95_ms' | 'error_rate';
  readonly value: number;
  readonly slo: number;
  /** `eu: p95 143.2 ms is above the SLO of 120 ms (probes.slo.p95_ms)`. */
  readonly message: string;
}

export interface ProbeReport {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly slo: ProbeSettings['slo'];
  readonly regions: readonly RegionFigures[];
  readonly breaches: readonly SloBreach[];
}

/** One probe request as it ended: its latency, and why it failed if it did. */
export interface ProbeSample {
  readonly region: string;
  readonly operation: string;
  readonly ms: number;
  readonly error?: string;
}

export interface ProbeRoundOptions {
  readonly settings: ProbeSettings;
  readonly targets: readonly ProbeTarget[];
  /** A token of the region's probe tenant; made once a round, so a long watch never sends an expired one. */
  readonly tokenFor: (tenant: { readonly tenant: string; readonly user: string }) => Promise<string>;
  /** Sees every request once it ended (the metrics of a watch). */
  readonly onSample?: (sample: ProbeSample) => void;
}

/** Runs one round: the regions in parallel, each region's operations one after another. */
export async function runProbeRound({ settings, targets, tokenFor, onSample }: ProbeRoundOptions): Promise<ProbeReport> {
  const startedAt = new Date().toISOString();
  const regions = await Promise.all(targets.map((target) => probeRegion(target, settings, tokenFor, onSample)));
  return { startedAt, finishedAt: new Date().toISOString(), slo: settings.slo, regions, breaches: regions.flatMap((r) => breachesOf(r, settings.slo)) };
}

async function probeRegion(target: ProbeTarget, settings: ProbeSettings, tokenFor: ProbeRoundOptions['tokenFor'], onSample: ProbeRoundOptions['onSample']): Promise<RegionFigures> {
  const tenant = settings.tenants[target.region];
  const token = tenant && Object.values(settings.operations).some((o) => o.signedIn) ? await tokenFor(tenant) : undefined;
  const operations: OperationFigures[] = [];
  const skipped: string[] = [];
  const samples: ProbeSample[] = [];
  for (const [operation, { query, signedIn }] of Object.entries(settings.operations)) {
    if (signedIn && token === undefined) {
      skipped.push(operation);
      continue;
    }
    const own: ProbeSample[] = [];
    for (let i = 0; i < settings.requests; i += 1) {
      if (i > 0 && settings.intervalMs > 0) await new Promise((resolve) => setTimeout(resolve, settings.intervalMs));
      const sample = { region: target.region, operation, ...(await probeOnce(target, query, signedIn ? token : undefined, settings.timeoutMs)) };
      own.push(sample);
      onSample?.(sample);
    }
    samples.push(...own);
    operations.push({ operation, ...figuresOf(own) });
  }
  const all = figuresOf(samples);
  return { region: target.region, url: target.url, ...all, errorRate: all.requests === 0 ? 0 : all.errors / all.requests, operations, skipped };
}

/** One request, timed from send to the last byte of the answer; an answer with errors fails, as it would for a client. */
async function probeOnce(target: ProbeTarget, query: string, token: string | undefined, timeoutMs: number): Promise<{ ms: number; error?: string }> {
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  try {
    const response = await fetch(`${target.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    const ms = elapsed();
    const code = codeOf(text);
    if (!response.ok || code !== undefined) return { ms, error: `HTTP ${response.status}${code === undefined ? '' : ` ${code}`}` };
    // A probe tenant homed elsewhere is served by its home gateway: the region would be credited with another's latency.
    const home = response.headers.get(clientHeaders.homeRegion);
    if (token !== undefined && home !== null && home !== target.region) return { ms, error: `the probe tenant is homed in ${home}, not ${target.region} (probes.tenants.${target.region})` };
    return { ms };
  } catch (error) {
    const ms = elapsed();
    const name = (error as Error).name;
    return { ms, error: name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : `unreachable (${causeOf(error)})` };
  }
}

/** The first error's code, `ERROR` for an error without one; undefined for an answer without errors. */
function codeOf(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as { errors?: { extensions?: { code?: unknown } }[] };
    if (!body.errors?.length) return undefined;
    const code = body.errors[0]?.extensions?.code;
    return typeof code === 'string' ? code : 'ERROR';
  } catch {
    return 'not JSON';
  }
}

function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  return typeof cause?.message === 'string' ? cause.message : (error as Error).message;
}

function figuresOf(samples: readonly ProbeSample[]): Omit<OperationFigures, 'operation'> {
  const failed = samples.filter((s) => s.error !== undefined);
  const latencies = samples.filter((s) => s.error === undefined).map((s) => s.ms).sort((a, b) => a - b);
  const lastError = failed.at(-1)?.error;
  return { requests: samples.length, errors: failed.length, p50Ms: percentile(latencies, 0.5), p95Ms: percentile(latencies, 0.95), ...(lastError === undefined ? {} : { lastError }) };
}

/** Nearest rank: the smallest latency that at least `share` of the requests did not exceed. */
function percentile(sorted: readonly number[], share: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.max(0, Math.ceil(share * sorted.length) - 1)]!;
}

function breachesOf(region: RegionFigures, slo: ProbeSettings['slo']): SloBreach[] {
  const breaches: SloBreach[] = [];
  if (region.p95Ms !== null && region.p95Ms > slo.p95Ms) {
    breaches.push({ region: region.region, figure: 'p95_ms', value: region.p95Ms, slo: slo.p95Ms, message: `${region.region}: p95 ${region.p95Ms.toFixed(1)} ms is above the SLO of ${slo.p95Ms} ms (probes.slo.p95_ms)` });
  }
  if (region.errorRate > slo.errorRate) {
    const rate = `${percent(region.errorRate)} (${region.errors} of ${region.requests}${region.lastError === undefined ? '' : `, last: ${region.lastError}`})`;
    breaches.push({ region: region.region, figure: 'error_rate', value: region.errorRate, slo: slo.errorRate, message: `${region.region}: error rate ${rate} is above the SLO of ${percent(slo.errorRate)} (probes.slo.error_rate)` });
  }
  return breaches;
}

/** 0.005 → `0.5 %`. */
export function percent(ratio: number): string {
  return `${Number((ratio * 100).toFixed(2))} %`;
}
