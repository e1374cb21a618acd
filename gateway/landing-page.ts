import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import type { RouteHandler } from '../runtime/http-server.js';
import { StartupError } from '../runtime/process.js';

/**
 * The browser landing page (docs/landing-page.md): GraphiQL at `GET /graphql`
 * for a browser's navigation, served whole by the gateway itself from npm
 * packages (graphiql's UMD build, React's and ReactDOM's), read once at start.
 * Nothing is fetched from another origin: the page's Content-Security-Policy
 * lets it load scripts, styles and data from this origin only (fonts and
 * images of graphiql's CSS are inline data: URLs), and GraphiQL sends its
 * operations to the page's own URL. Apollo's landing page and reports are off
 * (runtime/apollo-offline.ts); this is the only page.
 */
export interface LandingPageOptions {
  /** `gateway.landing_page`, resolved: on outside production, off with NODE_ENV=production unless set. */
  readonly enabled: boolean;
}

/** Where the assets live; the second segment is a hash of their contents, so a new version is a new URL. */
export const assetPrefix = '/graphiql/';

const javascript = 'text/javascript; charset=utf-8';
const css = 'text/css; charset=utf-8';

/** The files the page loads, in the order it loads them: [name served, package, file in the package, content type]. */
const vendorFiles = [
  ['graphiql.min.css', 'graphiql', 'graphiql.min.css', css],
  ['react.production.min.js', 'react', 'umd/react.production.min.js', javascript],
  ['react-dom.production.min.js', 'react-dom', 'umd/react-dom.production.min.js', javascript],
  ['graphiql.min.js', 'graphiql', 'graphiql.min.js', javascript],
] as const;

/** graphiql.min.js names its source map `index.umd.js.map`; only developer tools ask for it, so it is read on the first request. */
const sourceMap = { name: 'index.umd.js.map', pkg: 'graphiql', file: 'dist/index.umd.js.map' } as const;

const pageCss = `html, body, #graphiql { height: 100%; margin: 0; }
body { font-family: system-ui, sans-serif; }
#graphiql > .loading { padding: 2rem; color: #555; }
`;

const defaultQuery = `# GraphiQL, served by this geofed gateway: nothing on this page comes from elsewhere.
#
# Public data needs no token. For a tenant's personal data, put a token in the
# Headers tab below: {"authorization": "Bearer <npx geofed token --tenant acme>"}

{
  __typename
}
`;

// The page's own script: an external file, so the CSP needs no 'unsafe-inline' for scripts.
const initScript = `(function () {
  'use strict';
  var root = document.getElementById('graphiql');
  // The page is served at the GraphQL endpoint itself: operations go to the same origin and path.
  var endpoint = window.location.origin + window.location.pathname;
  var fetcher = GraphiQL.createFetcher({ url: endpoint });
  // GraphiQL keeps tabs and history in localStorage. shouldPersistHeaders: false keeps headers (a token) out of
  // the tabs, but its history and favourites store each operation's headers anyway: this storage drops them.
  var prefix = 'graphiql:';
  var withoutHeaders = function (key, value) {
    if (key !== prefix + 'queries' && key !== prefix + 'favorites') return value;
    try {
      var parsed = JSON.parse(value);
      (parsed.queries || []).forEach(function (entry) { delete entry.headers; });
      return JSON.stringify(parsed);
    } catch (error) {
      return null;
    }
  };
  var keys = function () {
    var found = [];
    for (var i = 0; i < window.localStorage.length; i += 1) {
      var key = window.localStorage.key(i);
      if (key !== null && key.indexOf(prefix) === 0) found.push(key);
    }
    return found;
  };
  var storage = {
    getItem: function (key) { return window.localStorage.getItem(key); },
    setItem: function (key, value) {
      var kept = withoutHeaders(key, value);
      if (kept === null) window.localStorage.removeItem(key);
      else window.localStorage.setItem(key, kept);
    },
    removeItem: function (key) { window.localStorage.removeItem(key); },
    clear: function () { keys().forEach(function (key) { window.localStorage.removeItem(key); }); },
    get length() { return keys().length; }
  };
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      storage: storage,
      shouldPersistHeaders: false,
      defaultQuery: ${JSON.stringify(defaultQuery)},
      defaultEditorToolsVisibility: true
    })
  );
})();
`;

const favicon = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#e10098"/><path d="M16 5l9.5 5.5v11L16 27l-9.5-5.5v-11z" fill="none" stroke="#fff" stroke-width="2"/><circle cx="16" cy="16" r="3" fill="#fff"/></svg>\n`;

/**
 * The page loads only from its own origin. GraphiQL's editors set inline
 * styles, and its CSS carries its fonts and icons as data: URLs.
 */
export const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

interface Asset {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
  /** Compressed on the first request that accepts gzip, off the event loop, then reused. */
  gzipped?: Promise<Buffer>;
}

/**
 * The gateway's routes with the landing page added: `/graphql` answers the
 * page to a browser's `GET` that carries no operation, and everything else
 * as before; the assets are served under `/graphiql/<hash>/`. Disabled, the
 * routes are returned as they are (a browser's GET is Apollo's to answer, and
 * `/graphiql/…` is an unknown route).
 */
export function withLandingPage(routes: Readonly<Record<string, RouteHandler>>, { enabled }: LandingPageOptions): Record<string, RouteHandler> {
  if (!enabled) return { ...routes };
  const graphql = routes['/graphql'];
  if (!graphql) throw new Error('withLandingPage: the routes have no /graphql');
  const { page, assets } = landingPageFiles();
  const serveAsset = (asset: () => Asset): RouteHandler => (req, res) => writeAsset(req, res, asset());
  const assetRoutes = Object.fromEntries([...assets].map(([path, asset]) => [path, serveAsset(asset)]));
  return {
    ...routes,
    ...assetRoutes,
    '/graphql': async (req, res, url) => {
      if (!wantsLandingPage(req, url)) return graphql(req, res, url);
      await writePage(req, res, page);
    },
  };
}

/** A browser's navigation to the endpoint: a GET with no operation (no `query`, no persisted-query `extensions`) that prefers HTML. */
export function wantsLandingPage(req: IncomingMessage, url: URL): boolean {
  return req.method === 'GET' && !url.searchParams.has('query') && !url.searchParams.has('extensions') && prefersHtml(req.headers.accept);
}

/**
 * Whether an Accept header prefers `text/html` to a GraphQL response
 * (`application/json`, `application/graphql-response+json`): the most
 * specific range that matches each type gives its quality (RFC 9110, 12.5.1);
 * HTML wins on a higher quality, or on a more specific range at the same one.
 * A browser's navigation (`text/html,…,*\/*;q=0.8`) prefers HTML; `*\/*`, no
 * header, and a client that names JSON as highly as HTML get GraphQL.
 */
export function prefersHtml(accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === '') return false;
  const ranges = accept.split(',').flatMap((part) => {
    const [range = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const [type, subtype] = range.split('/');
    if (!type || !subtype) return [];
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    return Number.isFinite(q) ? [{ type, subtype, q: Math.min(Math.max(q, 0), 1) }] : [];
  });
  const preference = (type: string, subtype: string) => {
    let best = { q: 0, specificity: -1 };
    for (const r of ranges) {
      const specificity = r.type === type && r.subtype === subtype ? 2 : r.type === type && r.subtype === '*' ? 1 : r.type === '*' && r.subtype === '*' ? 0 : -1;
      if (specificity > best.specificity) best = { q: r.q, specificity };
    }
    return best;
  };
  const html = preference('text', 'html');
  const json = [preference('application', 'json'), preference('application', 'graphql-response+json')].reduce((a, b) => (b.q > a.q || (b.q === a.q && b.specificity > a.specificity) ? b : a));
  if (html.q <= 0) return false;
  return html.q > json.q || (html.q === json.q && html.specificity > json.specificity);
}

interface LandingPageFiles {
  /** The HTML page, its asset URLs relative to the endpoint. */
  readonly page: Asset;
  /** Asset path → the asset (read on the first request for the source map). */
  readonly assets: ReadonlyMap<string, () => Asset>;
}

let cached: LandingPageFiles | undefined;

/** Reads the packages' files once per process; a missing package stops the gateway at start with what to do. */
export function landingPageFiles(): LandingPageFiles {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const packageDir = (name: string) => {
    try {
      return dirname(require.resolve(`${name}/package.json`));
    } catch {
      throw new StartupError(`the landing page (gateway.landing_page) needs the npm package "${name}": run \`npm install\`, or set gateway.landing_page: false`);
    }
  };
  const read = (name: string, file: string) => {
    try {
      return readFileSync(join(packageDir(name), file));
    } catch (error) {
      if (error instanceof StartupError) throw error;
      throw new StartupError(`the landing page (gateway.landing_page) needs ${name}/${file} (graphiql 4 and React 18 ship UMD builds; later majors do not): ${(error as Error).message}`);
    }
  };
  const files: [string, Buffer, string][] = [
    ...vendorFiles.map(([name, pkg, file, type]): [string, Buffer, string] => [name, read(pkg, file), type]),
    ['geofed-graphiql.css', Buffer.from(pageCss), css],
    ['geofed-graphiql.js', Buffer.from(initScript), javascript],
    ['favicon.svg', Buffer.from(favicon), 'image/svg+xml'],
  ];
  const digest = createHash('sha256');
  for (const [name, body] of files) digest.update(name).update(body);
  const base = `${assetPrefix}${digest.digest('hex').slice(0, 16)}/`;
  const assets = new Map<string, () => Asset>();
  for (const [name, body, contentType] of files) {
    const asset = assetOf(body, contentType);
    assets.set(base + name, () => asset);
  }
  let map: Asset | undefined;
  assets.set(base + sourceMap.name, () => (map ??= assetOf(read(sourceMap.pkg, sourceMap.file), 'application/json; charset=utf-8')));
  const href = (name: string) => escapeHtml(`${base.slice(1)}${name}`);
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>GraphiQL · geofed</title>
<link rel="icon" type="image/svg+xml" href="${href('favicon.svg')}">
<link rel="stylesheet" href="${href('graphiql.min.css')}">
<link rel="stylesheet" href="${href('geofed-graphiql.css')}">
</head>
<body>
<div id="graphiql"><p class="loading">Loading GraphiQL…</p></div>
<noscript>GraphiQL needs JavaScript.</noscript>
${vendorFiles.filter(([, , , type]) => type === javascript).map(([name]) => `<script src="${href(name)}"></script>`).join('\n')}
<script src="${href('geofed-graphiql.js')}"></script>
</body>
</html>
`;
  cached = { page: assetOf(Buffer.from(html), 'text/html; charset=utf-8'), assets };
  return cached;
}

function assetOf(body: Buffer, contentType: string): Asset {
  return { body, contentType, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

function writePage(req: IncomingMessage, res: ServerResponse, page: Asset): Promise<void> {
  // The endpoint answers GraphQL too: caches keep the page apart (Vary) and revalidate it, so a new version shows at once.
  return write(req, res, page, {
    'cache-control': 'no-cache',
    vary: 'accept, accept-encoding',
    'content-security-policy': contentSecurityPolicy,
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
  });
}

async function writeAsset(req: IncomingMessage, res: ServerResponse, asset: Asset): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
    res.end('GET or HEAD only\n');
    return;
  }
  // The URL changes with the contents: a browser or CDN may keep an asset for good.
  await write(req, res, asset, { 'cache-control': 'public, max-age=31536000, immutable', vary: 'accept-encoding', 'cross-origin-resource-policy': 'same-origin' });
}

async function write(req: IncomingMessage, res: ServerResponse, asset: Asset, headers: Record<string, string>): Promise<void> {
  const common = { ...headers, etag: asset.etag, 'x-content-type-options': 'nosniff' };
  if (matchesEtag(req.headers['if-none-match'], asset.etag)) {
    res.writeHead(304, common);
    res.end();
    return;
  }
  const gzip = acceptsGzip(req.headers['accept-encoding']) && asset.body.length > 1_024;
  const body = gzip ? await (asset.gzipped ??= gzipAsync(asset.body)) : asset.body;
  res.writeHead(200, { ...common, 'content-type': asset.contentType, 'content-length': body.length, ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
  res.end(req.method === 'HEAD' ? undefined : body);
}

const gzipAsync = promisify(gzipCallback);

function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });
}

function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined) return false;
  return header.split(',').some((part) => {
    const [coding = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    return (coding === 'gzip' || coding === '*') && (q === undefined || Number(q.slice(2)) > 0);
  });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
