import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { freePort } from '../dev/ports.js';
import { readConfigFile } from '../gateway/config.js';
import { gatewayEnv } from '../gateway/env.js';
import { runProbeRound } from '../gateway/probes/prober.js';
import { probeTargets, probeTokens } from '../gateway/probes/targets.js';
import { relayOutput } from './fixtures/child-output.js';
import { startTestStack, type TestStack } from './fixtures/stack.js';
import { waitFor } from './fixtures/wait.js';

// Synthetic probes (docs/operations.md, "Synthetic probes"): an anonymous catalog read and a read of a probe tenant
// homed in the region, through each region's own gateway of the multi-region topology; `geofed probe` prints a table
// per region and exits 1 when a region breaches an SLO, and `--watch` serves the figures as Prometheus metrics.

const regions = ['us', 'eu', 'apac', 'latam'];
const run = promisify(execFile);

interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function geofedProbe(...args: string[]): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'cli/geofed.ts', 'probe', ...args], { env: { ...process.env, LOG_LEVEL: 'silent' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as Outcome;
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

let t: TestStack;

/** supergraph.yaml as written, with the stack's gateways, `gateways` overriding some, and `probes` merged in. */
function configFile(probes: Record<string, unknown>, gateways: Record<string, string> = {}): string {
  const raw = readConfigFile('supergraph.yaml') as { subgraphs: Record<string, { schema: { file: string } }>; gateways: Record<string, { url: string }>; probes: Record<string, unknown> };
  for (const subgraph of Object.values(raw.subgraphs)) subgraph.schema.file = resolve(subgraph.schema.file);
  for (const region of regions) raw.gateways[region] = { url: gateways[region] ?? t.stack.gateways.get(region)!.url };
  raw.probes = { ...raw.probes, interval_ms: 0, ...probes };
  const file = join(mkdtempSync(join(tmpdir(), 'geofed-probe-')), 'supergraph.yaml');
  writeFileSync(file, stringify(raw));
  return file;
}

beforeAll(async () => {
  t = await startTestStack('pglite', { gateways: 'per-region' });
});
afterAll(async () => {
  await t?.stop();
});

describe('a probe round', () => {
  it('measures every region through its own gateway, anonymous and as the region\'s probe tenant', async () => {
    const settings = { ...t.stack.config.probes, requests: 5, intervalMs: 0 };
    const report = await runProbeRound({ settings, targets: probeTargets(t.stack.config), tokenFor: probeTokens(gatewayEnv({})) });
    expect(report.regions.map((r) => [r.region, r.url])).toEqual(regions.map((r) => [r, t.stack.gateways.get(r)!.url]));
    for (const region of report.regions) {
      expect(region.operations.map((o) => [o.operation, o.requests, o.errors, o.lastError])).toEqual([
        ['catalog', 5, 0, undefined],
        ['me', 5, 0, undefined],
      ]);
      expect([region.requests, region.errors, region.errorRate, region.skipped]).toEqual([10, 0, 0, []]);
      expect(region.p50Ms).toBeGreaterThan(0);
      expect(region.p95Ms).toBeGreaterThanOrEqual(region.p50Ms!);
    }
  });
});

describe('geofed probe', () => {
  it('prints a table per region and exits 0 within the SLOs', { timeout: 60_000 }, async () => {
    const { code, stdout, stderr } = await geofedProbe('--config', configFile({ slo: { p95_ms: 10_000, error_rate: 0.5 } }), '--requests', '4');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('SLO: p95 ≤ 10000 ms, error rate ≤ 50 %');
    for (const region of regions) {
      const table = stdout.split('\n\n').find((block) => block.startsWith(`${region}  `))!;
      expect(table.split('\n')[0]).toBe(`${region}  ${t.stack.gateways.get(region)!.url}  SLO met`);
      expect(table).toMatch(/^ {2}operation +requests +errors +error rate +p50 ms +p95 ms$/m);
      expect(table).toMatch(/^ {2}catalog +4 +0 +0 % +\d+\.\d +\d+\.\d$/m);
      expect(table).toMatch(/^ {2}me +4 +0 +0 % +\d+\.\d +\d+\.\d$/m);
      expect(table).toMatch(/^ {2}all +8 +0 +0 % +\d+\.\d +\d+\.\d$/m);
    }
  });

  it('exits 1 naming the region, the figure and the SLO: an impossible p95, a gateway that does not answer', { timeout: 60_000 }, async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const { code, stdout, stderr } = await geofedProbe('--config', configFile({ slo: { p95_ms: 0.001, error_rate: 0.005 }, timeout_ms: 1_000 }, { latam: closed }), '--requests', '2');
    expect(code).toBe(1);
    for (const region of ['us', 'eu', 'apac']) expect(stderr).toMatch(new RegExp(`^geofed probe: SLO breached: ${region}: p95 \\d+\\.\\d ms is above the SLO of 0\\.001 ms \\(probes\\.slo\\.p95_ms\\)$`, 'm'));
    expect(stderr).toContain('geofed probe: SLO breached: latam: error rate 100 % (4 of 4, last: unreachable (ECONNREFUSED)) is above the SLO of 0.5 % (probes.slo.error_rate)');
    expect(stdout).toContain(`latam  ${closed}  SLO BREACHED (error_rate)`);
    expect(stdout).toMatch(/^ {2}all +4 +4 +100 % +- +-$/m);
  });

  it('--watch keeps probing and serves the figures as Prometheus metrics until Ctrl-C', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'cli/geofed.ts', 'probe', '--config', configFile({ requests: 2, watch_interval_ms: 200, slo: { p95_ms: 10_000, error_rate: 0.5 } }), '--watch', '--metrics-port', String(port)], {
      env: { ...process.env, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    relayOutput(child, 'probe --watch');
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    try {
      const scrape = async () => {
        try {
          return await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        } catch {
          return '';
        }
      };
      const count = (text: string, region: string) => Number(new RegExp(`^geofed_probe_requests_total\\{region="${region}",operation="me"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
      // Two rounds at least: it keeps probing.
      const metrics = await waitFor(scrape, { until: (text) => regions.every((r) => count(text, r) >= 4), timeoutMs: 30_000, intervalMs: 100, what: 'two rounds of every region in the metrics' });
      for (const region of regions) {
        expect(metrics).toMatch(new RegExp(`^geofed_probe_duration_seconds_count\\{region="${region}",operation="catalog"\\} [1-9]\\d*$`, 'm'));
        expect(metrics).toMatch(new RegExp(`^geofed_probe_slo_breached\\{region="${region}"\\} 0$`, 'm'));
      }
      expect(metrics).not.toMatch(/^geofed_probe_errors_total\{.*\} [1-9]/m);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  });
});
