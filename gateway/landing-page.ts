import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RouteHandler } from '../runtime/http-server.js';
import { landingPageFiles } from './landing-page-files.js';
import { writeHtmlPage, writeImmutableAsset, type StaticAsset } from './static-asset.js';

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

/**
 * The page loads only from its own origin. GraphiQL's editors set inline
 * styles, and its CSS carries its fonts and icons as data: URLs.
 */
const contentSecurityPolicy = [
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
  const serveAsset = (asset: () => StaticAsset): RouteHandler => (req, res) => writeImmutableAsset(req, res, asset());
  const assetRoutes = Object.fromEntries([...assets].map(([path, asset]) => [path, serveAsset(asset)]));
  return {
    ...routes,
    ...assetRoutes,
    '/graphql': async (req, res, url) => {
      if (!wantsLandingPage(req, url)) return graphql(req, res, url);
      await writeHtmlPage(req, res, page, contentSecurityPolicy);
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
