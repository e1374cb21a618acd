import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { StartupError } from '../runtime/process.js';
import { landingPageScript } from './landing-page-script.js';
import { staticAsset, type StaticAsset } from './static-asset.js';

// What the landing page is made of: GraphiQL's, React's and ReactDOM's UMD builds from their npm
// packages, the page's own CSS, script and icon, and the HTML that loads them, all read once at start.

/** Where the assets live; the second segment is a hash of their contents, so a new version is a new URL. */
const assetPrefix = '/graphiql/';

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

const favicon = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#e10098"/><path d="M16 5l9.5 5.5v11L16 27l-9.5-5.5v-11z" fill="none" stroke="#fff" stroke-width="2"/><circle cx="16" cy="16" r="3" fill="#fff"/></svg>\n`;

export interface LandingPageFiles {
  /** The HTML page, its asset URLs relative to the endpoint. */
  readonly page: StaticAsset;
  /** Asset path → the asset (read on the first request for the source map). */
  readonly assets: ReadonlyMap<string, () => StaticAsset>;
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
    ['geofed-graphiql.js', Buffer.from(landingPageScript), javascript],
    ['favicon.svg', Buffer.from(favicon), 'image/svg+xml'],
  ];
  const digest = createHash('sha256');
  for (const [name, body] of files) digest.update(name).update(body);
  const base = `${assetPrefix}${digest.digest('hex').slice(0, 16)}/`;
  const assets = new Map<string, () => StaticAsset>();
  for (const [name, body, contentType] of files) {
    const asset = staticAsset(body, contentType);
    assets.set(base + name, () => asset);
  }
  let map: StaticAsset | undefined;
  assets.set(base + sourceMap.name, () => (map ??= staticAsset(read(sourceMap.pkg, sourceMap.file), 'application/json; charset=utf-8')));
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
  cached = { page: staticAsset(Buffer.from(html), 'text/html; charset=utf-8'), assets };
  return cached;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
