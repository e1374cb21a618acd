import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GeofedConfig } from '../gateway/config.js';
import { gatewayEnv } from '../gateway/env.js';
import { startGateway } from '../gateway/gateway.js';
import type { StatusReport } from '../gateway/status-page-report.js';
import { startTestStack, type TestStack } from './fixtures/stack.js';
import { openWatchedPage } from './fixtures/browser.js';
import { waitFor } from './fixtures/wait.js';

// /status (docs/operations.md, "Status page"): JSON by default, with every region's gateway and supergraph version,
// each subgraph instance's health and breaker, the gateway's own probe rounds (probes.watch) and the rollouts; to a
// browser, a page that renders it and refreshes it live, tested in a real headless Chromium.

const regions = ['us', 'eu', 'apac', 'latam'];
/** What Chromium sends when a person opens the URL. */
const browserAccept = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';
const outputDir = join(dirname(fileURLToPath(import.meta.url)), 'output');

/** Every gateway probes every region, a small round each second: enough to show figures, little load on two cores. */
const withProbes = (config: GeofedConfig): GeofedConfig => ({
  ...config,
  probes: { ...config.probes, watch: true, requests: 2, intervalMs: 0, watchIntervalMs: 1_000, slo: { p95Ms: 10_000, errorRate: 0.5 } },
});

let t: TestStack;
let statusUrl: string;

const statusOf = async (url = statusUrl) => (await (await fetch(url)).json()) as StatusReport;

beforeAll(async () => {
  t = await startTestStack('pglite', { gateways: 'per-region', configure: withProbes });
  statusUrl = `${t.stack.gateways.get('us')!.url}/status`;
});
afterAll(async () => {
  await t?.stop();
});

describe('/status as JSON', () => {
  it('is the default answer: every region with its supergraph version, every instance, the probes and the rollouts', async () => {
    const response = await fetch(statusUrl);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(response.headers.get('vary')).toMatch(/\baccept\b/);
    const status = (await response.json()) as StatusReport;
    expect(status).toMatchObject({ status: 'ready', region: 'us', ready: true, rollouts: [] });
    expect(status.regions).toEqual(
      regions.map((region) => {
        const gateway = t.stack.gateways.get(region)!;
        const { version, configVersion, loadedAt } = gateway.supergraph();
        return { region, gateway: gateway.url, status: 'ready', supergraph: { version, configVersion, loadedAt } };
      }),
    );
    for (const region of regions) {
      // PGlite has no replication: each region's catalog instance reads the primary, and says so.
      expect(status.subgraphs.catalog?.[region], `catalog@${region}`).toEqual({ health: 'up', breaker: 'closed', replica: null });
      for (const subgraph of ['users', 'orders']) expect(status.subgraphs[subgraph]?.[region], `${subgraph}@${region}`).toEqual({ health: 'up', breaker: 'closed' });
    }
    const { probes } = await waitFor(() => statusOf(), { until: (s) => s.probes !== null, timeoutMs: 20_000, intervalMs: 200, what: 'a probe round on /status' });
    expect(probes!.regions.map((r) => [r.region, r.url, r.requests, r.errors])).toEqual(regions.map((r) => [r, t.stack.gateways.get(r)!.url, 4, 0]));
    expect(probes!.breaches).toEqual([]);
    // The us probe tenant's budget is debited here, by its home gateway (another region's tenant, by its own); a probe spends little of it.
    const { busiestTenants } = await waitFor(() => statusOf(), { until: (s) => (s.busiestTenants ?? []).length > 0, timeoutMs: 10_000, intervalMs: 200, what: 'a debited tenant bucket on /status' });
    expect(busiestTenants!.map(({ tenant, region }) => ({ tenant, region }))).toEqual([{ tenant: 'globex', region: 'us' }]);
    expect(busiestTenants![0]!.fill).toBeGreaterThan(0.9);
    expect(busiestTenants![0]!.fill).toBeLessThanOrEqual(1);
  });

  it('serves the probes\' figures on the gateway\'s /metrics too', async () => {
    const metrics = await (await fetch(`${t.stack.gateways.get('us')!.url}/metrics`)).text();
    for (const region of regions) {
      expect(metrics).toMatch(new RegExp(`^geofed_probe_requests_total\\{region="${region}",operation="catalog"\\} [1-9]\\d*$`, 'm'));
      expect(metrics).toMatch(new RegExp(`^geofed_probe_slo_breached\\{region="${region}"\\} 0$`, 'm'));
    }
  });
});

describe('/status to a browser', () => {
  it('is a page that loads nothing, from anywhere, and may talk only to its own origin', async () => {
    const response = await fetch(statusUrl, { headers: { accept: browserAccept } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('vary')).toMatch(/\baccept\b/);
    const csp = response.headers.get('content-security-policy') ?? '';
    for (const directive of ["default-src 'none'", "connect-src 'self'", "frame-ancestors 'none'"]) expect(csp).toContain(directive);
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/]+=*'/);
    expect(csp).not.toMatch(/unsafe|https?:|\*/);
    const html = await response.text();
    expect(html).toContain('<title>geofed status</title>');
    expect(html).not.toMatch(/https?:\/\/|["'(]\/\/|\ssrc\s*=/i);
  });

  it('shows every region, each instance\'s health and the probes in Chromium, and a subgraph going down live', { timeout: 120_000 }, async () => {
    let browser: Browser | undefined;
    let stopped = false;
    try {
      const watched = await openWatchedPage({ width: 1280, height: 1000 });
      browser = watched.browser;
      const { page, requested, problems } = watched;
      const origin = new URL(statusUrl).origin;
      expect((await page.goto(statusUrl, { waitUntil: 'load' }))?.status()).toBe(200);
      // Read through the DevTools protocol (locators), outside the page's CSP.
      const textOf = (selector: string) => page.locator(selector).first().textContent({ timeout: 30_000 });
      const shown = (selector: string, until: (text: string) => boolean, what: string) => waitFor(async () => (await textOf(selector)) ?? '', { until, timeoutMs: 30_000, intervalMs: 200, what });
      for (const region of regions) {
        const gateway = t.stack.gateways.get(region)!;
        const row = await shown(`#regions [data-region="${region}"]`, (text) => text.includes('ready') && text.includes('SLO met'), `the ${region} row to show its gateway ready, with probe figures`);
        expect(row).toContain(gateway.url);
        expect(row).toContain(gateway.supergraph().version);
        expect(await textOf(`[data-instance="catalog@${region}"]`)).toBe('up breaker closedno replica: reads its primary');
        for (const subgraph of ['users', 'orders']) expect(await textOf(`[data-instance="${subgraph}@${region}"]`)).toBe('up breaker closed');
        for (const operation of ['catalog', 'me']) expect(await textOf(`[data-probe="${region}/${operation}"]`)).toMatch(new RegExp(`^${region}${operation}20\\d+\\.\\d ms\\d+\\.\\d ms$`));
      }
      expect(await textOf('#probes')).toContain('Every region within its SLOs.');
      expect(await textOf('#rollouts')).toContain('No rollout');
      expect(await textOf('#tenants')).toMatch(/^Busiest tenants \(bucket fill\)tenantregionfillglobexus\d+(\.\d+)? %$/);
      await t.stack.stopSubgraphInstance('users', 'apac');
      stopped = true;
      expect(await shown('[data-instance="users@apac"]', (text) => text.startsWith('down'), 'the page to show users in apac down')).toMatch(/^down breaker/);
      expect(await textOf('[data-instance="users@eu"]')).toBe('up breaker closed');
      mkdirSync(outputDir, { recursive: true });
      await page.screenshot({ path: join(outputDir, 'status-page.png'), fullPage: true });
      expect(requested.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith('data:'))).toEqual([]);
      // Refreshed live: the page asked for the JSON status again and again, and only that.
      expect(requested.filter((url) => url === statusUrl).length).toBeGreaterThanOrEqual(3);
      expect(problems).toEqual([]);
    } finally {
      await browser?.close();
      if (stopped) await t.stack.startSubgraphInstance('users', 'apac');
    }
  });
});

describe('/status with gateway.admin_port', () => {
  it('is served, JSON and page, on the admin listener only', async () => {
    const config = t.stack.config;
    const gateway = await startGateway({ config: { ...config, gateway: { ...config.gateway, port: 0, adminPort: 0 }, probes: { ...config.probes, watch: false } }, env: gatewayEnv({}) });
    try {
      expect((await fetch(`${gateway.url}/status`, { headers: { accept: browserAccept } })).status).toBe(404);
      const status = await statusOf(`${gateway.adminUrl}/status`);
      expect(status.regions.map((r) => [r.region, r.status])).toEqual(regions.map((r) => [r, 'ready']));
      expect(status.probes).toBeNull();
      const page = await fetch(`${gateway.adminUrl}/status`, { headers: { accept: 'text/html' } });
      expect([page.status, page.headers.get('content-type')]).toEqual([200, 'text/html; charset=utf-8']);
    } finally {
      await gateway.stop();
    }
  });
});
