import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { statusPageScript } from './status-page-script.js';
import { staticAsset, writeHtmlPage } from './static-asset.js';

// The status page (docs/operations.md, "Status page"): `/status` to a browser. One self-contained document, its
// style and script inline and allowed by their hashes alone: the page loads nothing, from anywhere, and talks only
// to its own origin, where its script asks for the JSON status.

const pageCss = `body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1d1d1f; background: #fafafa; }
h1 { font-size: 1.4rem; margin: 0 0 0.25rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 0.5rem; }
#refreshed { color: #666; font-size: 0.85rem; }
table { border-collapse: collapse; background: #fff; font-size: 0.9rem; }
th, td { border: 1px solid #ddd; padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f0f0f3; font-weight: 600; }
.mono { font-family: ui-monospace, monospace; }
.badge { display: inline-block; padding: 0 0.4rem; border-radius: 0.6rem; font-size: 0.8rem; }
.good { background: #d8f5dd; color: #0b5d1e; }
.warn { background: #fff1c2; color: #6b4e00; }
.bad { background: #fddcdc; color: #8a1010; }
.muted { color: #777; }
.bad-text { color: #8a1010; }
.detail { color: #555; font-size: 0.8rem; }
.breaches li { color: #8a1010; }
`;

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** The page may run its own script and style, fetch from its own origin, and nothing else; no page may frame it. */
const contentSecurityPolicy = [
  "default-src 'none'",
  `script-src ${sha256(statusPageScript)}`,
  `style-src ${sha256(pageCss)}`,
  'img-src data:',
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>geofed status</title>
<link rel="icon" href="data:,">
<style>${pageCss}</style>
</head>
<body>
<h1>geofed status</h1>
<p id="refreshed">loading…</p>
<main id="status"><noscript>This page renders the gateway's JSON status with JavaScript; without it, ask /status with Accept: application/json.</noscript></main>
<script>${statusPageScript}</script>
</body>
</html>
`;

const page = staticAsset(Buffer.from(html), 'text/html; charset=utf-8');

/** The page itself: the same bytes for every gateway, so caches revalidate it by its ETag. */
export function writeStatusPage(req: IncomingMessage, res: ServerResponse): Promise<void> {
  return writeHtmlPage(req, res, page, contentSecurityPolicy);
}
