import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';

/** A file served from memory: read once, answered with its ETag, gzipped for the clients that accept it. */
export interface StaticAsset {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
  /** Compressed on the first request that accepts gzip, off the event loop, then reused. */
  gzipped?: Promise<Buffer>;
}

/** Bodies this small are sent as they are: gzip would save less than its own overhead. */
const minGzipBytes = 1_024;

export function staticAsset(body: Buffer, contentType: string): StaticAsset {
  return { body, contentType, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

/** Serves an asset whose URL changes with its contents: GET and HEAD only, kept by browsers and CDNs for good. */
export async function writeImmutableAsset(req: IncomingMessage, res: ServerResponse, asset: StaticAsset): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
    res.end('GET or HEAD only\n');
    return;
  }
  await writeStaticAsset(req, res, asset, { 'cache-control': 'public, max-age=31536000, immutable', vary: 'accept-encoding', 'cross-origin-resource-policy': 'same-origin' });
}

/**
 * A page at a URL that also answers JSON (`/graphql`, `/status`): caches keep the two apart (Vary) and revalidate
 * the page, so a new version shows at once; it runs only what `contentSecurityPolicy` allows, in no frame.
 */
export function writeHtmlPage(req: IncomingMessage, res: ServerResponse, page: StaticAsset, contentSecurityPolicy: string): Promise<void> {
  return writeStaticAsset(req, res, page, {
    'cache-control': 'no-cache',
    vary: 'accept, accept-encoding',
    'content-security-policy': contentSecurityPolicy,
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
  });
}

/** Answers 304 to a request that holds the asset's ETag, else the asset (gzipped when accepted) with `headers`. */
export async function writeStaticAsset(req: IncomingMessage, res: ServerResponse, asset: StaticAsset, headers: Record<string, string>): Promise<void> {
  const common = { ...headers, etag: asset.etag, 'x-content-type-options': 'nosniff' };
  if (matchesEtag(req.headers['if-none-match'], asset.etag)) {
    res.writeHead(304, common);
    res.end();
    return;
  }
  const gzip = acceptsGzip(req.headers['accept-encoding']) && asset.body.length > minGzipBytes;
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
