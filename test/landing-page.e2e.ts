import { mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayEnv } from '../gateway/env.js';
import { startGateway } from '../gateway/gateway.js';
import { firstUserOf } from '../subgraphs/shared/seed-data.js';
import { devToken, postGraphQL, startTestStack, type TestStack } from './fixtures/stack.js';
import { openWatchedPage } from './fixtures/browser.js';
import { waitFor } from './fixtures/wait.js';

// GraphiQL at GET /graphql (docs/landing-page.md): served by the gateway itself from npm packages, nothing from
// another origin; off in production unless gateway.landing_page says so; a GET with a query stays GraphQL.

/** What Chromium sends when a person opens the URL. */
const browserAccept = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';
const productionEnv = {
  NODE_ENV: 'production',
  GEOFED_JWT_SECRET: 'landing-page-suite-jwt-secret-0123456789abcdef',
  GEOFED_SUBGRAPH_SECRET: 'landing-page-suite-subgraph-secret-01234567',
  GEOFED_GATEWAY_HOP_SECRET: 'landing-page-suite-hop-secret-0123456789abc',
};
const outputDir = join(dirname(fileURLToPath(import.meta.url)), 'output');

const getPage = (url: string, headers: Record<string, string> = {}) => fetch(url, { headers: { accept: browserAccept, ...headers } });

/** Every URL the page's markup names (src and href of any element), as written. */
function referencesOf(html: string): string[] {
  return [...html.matchAll(/\s(?:src|href)\s*=\s*["']([^"']*)["']/gi)].map((m) => m[1]!);
}

const contentTypeOf = (path: string) => (path.endsWith('.js') ? 'text/javascript; charset=utf-8' : path.endsWith('.css') ? 'text/css; charset=utf-8' : path.endsWith('.svg') ? 'image/svg+xml' : 'unknown');

describe('the landing page, outside production', () => {
  let t: TestStack;
  beforeAll(async () => {
    t = await startTestStack('pglite');
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('answers a browser\'s GET /graphql with GraphiQL, locked to its own origin', async () => {
    const response = await getPage(t.graphqlUrl);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('vary')).toMatch(/\baccept\b/);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const csp = response.headers.get('content-security-policy') ?? '';
    for (const directive of ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]) expect(csp).toContain(directive);
    expect(csp).not.toMatch(/https?:|\*/);
    const html = await response.text();
    expect(html).toContain('<div id="graphiql">');
    // No absolute or protocol-relative URL anywhere in the markup: nothing can come from elsewhere.
    expect(html).not.toMatch(/https?:\/\/|["'(]\/\//i);
  });

  it('serves every asset the page references itself, with its content type and long-lived caching', async () => {
    const pageUrl = t.graphqlUrl;
    const html = await (await getPage(pageUrl)).text();
    const references = referencesOf(html);
    expect(references.filter((r) => r.endsWith('.js'))).toHaveLength(4);
    expect(references.filter((r) => r.endsWith('.css'))).toHaveLength(2);
    const origin = new URL(pageUrl).origin;
    for (const reference of references) {
      const url = new URL(reference, pageUrl);
      expect(url.origin, reference).toBe(origin);
      expect(url.pathname, reference).toMatch(/^\/graphiql\/[0-9a-f]{16}\/[\w.-]+$/);
      const asset = await fetch(url, { headers: { 'accept-encoding': 'identity' } });
      expect(asset.status, reference).toBe(200);
      expect(asset.headers.get('content-type'), reference).toBe(contentTypeOf(url.pathname));
      expect(asset.headers.get('cache-control'), reference).toBe('public, max-age=31536000, immutable');
      expect(asset.headers.get('x-content-type-options'), reference).toBe('nosniff');
      const body = Buffer.from(await asset.arrayBuffer());
      expect(body.length, reference).toBe(Number(asset.headers.get('content-length')));
      if (url.pathname.endsWith('.css')) {
        // Fonts and icons of graphiql's CSS are inline: no url() to fetch, no @import.
        const text = body.toString('utf8');
        expect(text).not.toMatch(/@import/);
        for (const [, target] of text.matchAll(/url\(\s*["']?([^"')]*)/g)) expect(target, `${reference}: url(${target?.slice(0, 40)})`).toMatch(/^data:/);
      }
      // A revalidation is a 304; a gzip-capable client gets the same bytes compressed.
      const revalidated = await fetch(url, { headers: { 'if-none-match': asset.headers.get('etag')! } });
      expect(revalidated.status, reference).toBe(304);
      if (body.length > 1_024) {
        const raw = await rawGet(url, { 'accept-encoding': 'gzip, deflate, br' });
        expect(raw.headers['content-encoding'], reference).toBe('gzip');
        expect(gunzipSync(raw.body).equals(body), reference).toBe(true);
      }
    }
    // graphiql.min.js names its source map next to it, for developer tools.
    const script = references.find((r) => r.endsWith('/graphiql.min.js'))!;
    const map = await fetch(new URL(script.replace(/graphiql\.min\.js$/, 'index.umd.js.map'), pageUrl));
    expect(map.status).toBe(200);
    expect(map.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(((await map.json()) as { version: number }).version).toBe(3);
    expect((await fetch(new URL('/graphiql/0000000000000000/graphiql.min.js', pageUrl))).status).toBe(404);
  });

  it('keeps a GET with a query a GraphQL request, and CSRF prevention as it was', async () => {
    const query = encodeURIComponent('{ products(first: 1) { name } }');
    const get = await getPage(`${t.graphqlUrl}?query=${query}`, { 'apollo-require-preflight': 'true' });
    expect(get.status).toBe(200);
    expect(get.headers.get('content-type')).toMatch(/^application\/json/);
    expect(((await get.json()) as { data: { products: unknown[] } }).data.products).toHaveLength(1);
    // A browser's GET with a query but without the preflight header is what a cross-site form would send: refused.
    const forged = await getPage(`${t.graphqlUrl}?query=${query}`);
    expect(forged.status).toBe(400);
    expect(await forged.text()).toMatch(/Cross-Site Request Forgery/);
    const simplePost = await fetch(t.graphqlUrl, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ query: '{ __typename }' }) });
    expect(simplePost.status).toBe(400);
    expect(await simplePost.text()).toMatch(/Cross-Site Request Forgery/);
    // A persisted-query GET (extensions, no query) is GraphQL too, however HTML-minded its Accept.
    const apq = await getPage(`${t.graphqlUrl}?extensions=${encodeURIComponent(JSON.stringify({ persistedQuery: { version: 1, sha256Hash: '0'.repeat(64) } }))}`, { 'apollo-require-preflight': 'true' });
    expect(apq.headers.get('content-type')).toMatch(/^application\/json/);
    // A client that does not prefer HTML gets GraphQL's answer, not the page.
    for (const accept of ['*/*', 'application/json', 'application/json, text/html']) {
      const answer = await fetch(t.graphqlUrl, { headers: { accept } });
      expect(answer.headers.get('content-type'), accept).not.toMatch(/html/);
    }
  });

  it('runs a query typed into GraphiQL in Chromium, loading nothing from another origin', { timeout: 120_000 }, async () => {
    const expected = await postGraphQL(t.graphqlUrl, '{ products(first: 2) { name } }');
    const names = (expected.body.data as { products: { name: string }[] }).products.map((p) => p.name);
    expect(names).toHaveLength(2);
    let browser: Browser | undefined;
    try {
      const watched = await openWatchedPage({ width: 1280, height: 800 });
      browser = watched.browser;
      const { page, requested, problems } = watched;
      const origin = new URL(t.graphqlUrl).origin;
      const response = await page.goto(t.graphqlUrl, { waitUntil: 'load' });
      expect(response?.status()).toBe(200);
      const editor = page.locator('.graphiql-query-editor .CodeMirror');
      await editor.waitFor({ state: 'visible', timeout: 60_000 });
      // Type the query as a person would: focus the editor, clear it, type (insertText: no bracket auto-closing twice).
      await editor.click();
      await page.keyboard.press('Control+A');
      await page.keyboard.press('Backspace');
      await page.keyboard.insertText('{ products(first: 2) { name } }');
      await page.locator('.graphiql-execute-button').click();
      const responseText = "document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror?.getValue() ?? ''";
      // Polled through page.evaluate (the DevTools protocol, outside the page's CSP): waitForFunction evaluates its
      // predicate inside the page, which the page's own `script-src 'self'` refuses.
      const shownResponse = (until: string) => waitFor(async () => (await page.evaluate(responseText)) as string, { until: (text) => text.includes(until), timeoutMs: 30_000, intervalMs: 100, what: `GraphiQL's response pane to show ${until}` });
      await shownResponse(names[1]!);
      const shown = (await page.evaluate(responseText)) as string;
      expect((JSON.parse(shown) as { data: unknown }).data).toEqual({ products: names.map((name) => ({ name })) });
      // A tenant's personal data: the token goes in GraphiQL's Headers tab, and the operation through the gateway's residency rules.
      const token = await devToken('acme', firstUserOf('acme')!.id);
      const me = await postGraphQL(t.graphqlUrl, '{ me { name } }', { token });
      const myName = (me.body.data as { me: { name: string } }).me.name;
      await page.getByRole('button', { name: 'Headers' }).click();
      const headersEditor = page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror');
      await headersEditor.waitFor({ state: 'visible' });
      await headersEditor.click();
      await page.keyboard.press('Control+A');
      await page.keyboard.press('Backspace');
      await page.keyboard.insertText(JSON.stringify({ authorization: `Bearer ${token}` }));
      await editor.click();
      await page.keyboard.press('Control+A');
      await page.keyboard.press('Backspace');
      await page.keyboard.insertText('{ me { name } }');
      await page.locator('.graphiql-execute-button').click();
      await shownResponse(myName);
      expect((JSON.parse((await page.evaluate(responseText)) as string) as { data: unknown }).data).toEqual({ me: { name: myName } });
      // The token was sent, never stored: GraphiQL's tabs and history in localStorage carry no header.
      // GraphiQL writes its tabs to localStorage after a debounce: waited for, not assumed.
      const stored = await waitFor(async () => (await page.evaluate('JSON.stringify(Object.entries(window.localStorage))')) as string, { until: (text) => text.includes('me { name }'), timeoutMs: 15_000, intervalMs: 100, what: 'GraphiQL to store the operation it ran' });
      expect(stored).not.toContain(token);
      mkdirSync(outputDir, { recursive: true });
      await page.screenshot({ path: join(outputDir, 'graphiql.png') });
      const elsewhere = requested.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith('data:'));
      expect(elsewhere).toEqual([]);
      // Introspection (docs, autocompletion) and the operation went to the endpoint itself.
      expect(requested.filter((url) => url === t.graphqlUrl).length).toBeGreaterThanOrEqual(3);
      expect(problems).toEqual([]);
    } finally {
      await browser?.close();
    }
  });
});

describe('the landing page in production', () => {
  let off: TestStack;
  beforeAll(async () => {
    off = await startTestStack('pglite', { env: productionEnv });
  });
  afterAll(async () => {
    await off?.stop();
  });

  it('is off without gateway.landing_page: a browser\'s GET gets Apollo\'s answer to a GET without a query, and no asset is served', async () => {
    const response = await getPage(off.graphqlUrl);
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await response.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors[0]!.extensions.code).toBe('BAD_REQUEST');
    // With the preflight header, Apollo's own words for a GET without a query; never Apollo's landing page either.
    const preflighted = await getPage(off.graphqlUrl, { 'apollo-require-preflight': 'true' });
    expect(preflighted.status).toBe(400);
    expect(await preflighted.text()).not.toMatch(/<html|apollographql/i);
    const dev = await getPage(off.graphqlUrl.replace(/\/graphql$/, '/graphiql/0000000000000000/graphiql.min.js'));
    expect(dev.status).toBe(404);
  });

  it('is on with gateway.landing_page: true', async () => {
    // A second gateway of the region, over the same subgraphs, with the setting.
    const on = await startGateway({ config: { ...off.stack.config, gateway: { ...off.stack.config.gateway, port: 0, landingPage: true } }, env: gatewayEnv(productionEnv) });
    try {
      const pageUrl = `${on.url}/graphql`;
      const response = await getPage(pageUrl);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      const script = referencesOf(await response.text()).find((r) => r.endsWith('/graphiql.min.js'))!;
      expect((await fetch(new URL(script, pageUrl))).status).toBe(200);
    } finally {
      await on.stop();
    }
  });
});

/** A GET whose body is read as sent (fetch would decompress it). */
async function rawGet(url: URL, headers: Record<string, string>): Promise<{ headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
