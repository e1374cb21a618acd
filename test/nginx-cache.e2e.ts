import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NginxCache, startNginxCache } from './fixtures/nginx-cache.js';

// A real nginx in front of a real upstream: what it stores is what a CDN honouring the same
// headers would store, so the caching rules here come only from Cache-Control and Vary.
const hits = new Map<string, number>();
let upstream: Server;
let cache: NginxCache;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    switch (path) {
      case '/public':
        res.writeHead(200, { 'cache-control': 'public, max-age=0, s-maxage=60', 'content-type': 'text/plain' });
        return res.end(`public ${hits.get(path)}`);
      case '/private':
        res.writeHead(200, { 'cache-control': 'private, no-store', 'content-type': 'text/plain' });
        return res.end(`private ${hits.get(path)}`);
      case '/vary':
        res.writeHead(200, { 'cache-control': 'public, s-maxage=60', vary: 'Authorization', 'content-type': 'text/plain' });
        return res.end(`for ${req.headers.authorization ?? '(anonymous)'}`);
      case '/error':
        res.writeHead(500, { 'cache-control': 'no-store', 'content-type': 'text/plain' });
        return res.end(`error ${hits.get(path)}`);
      default:
        res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  cache = await startNginxCache(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`);
});

afterAll(async () => {
  await cache?.stop();
  await new Promise((resolve) => upstream?.close(resolve));
});

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${cache.url}${path}`, { headers });
  return { status: res.status, cacheStatus: res.headers.get('x-cache-status'), body: await res.text() };
}

function accepts(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

describe('nginx as a shared cache, driven only by upstream headers', () => {
  it('stores a public s-maxage response: MISS, then HIT without asking the upstream', async () => {
    const first = await get('/public');
    const second = await get('/public');
    expect(first).toMatchObject({ status: 200, cacheStatus: 'MISS', body: 'public 1' });
    expect(second).toMatchObject({ status: 200, cacheStatus: 'HIT', body: 'public 1' });
    expect(hits.get('/public')).toBe(1);
  });

  it('never stores a private, no-store response', async () => {
    for (let i = 1; i <= 3; i++) {
      const res = await get('/private');
      expect(['MISS', 'BYPASS']).toContain(res.cacheStatus);
      expect(res.body).toBe(`private ${i}`);
    }
    expect(hits.get('/private')).toBe(3);
  });

  it('keeps one entry per Authorization value when the response says Vary: Authorization', async () => {
    const alice = { authorization: 'Bearer alice' };
    const bob = { authorization: 'Bearer bob' };
    const seen = [
      await get('/vary', alice),
      await get('/vary', bob),
      await get('/vary', alice),
      await get('/vary', bob),
      await get('/vary'),
    ];
    // No caller ever receives another caller's body.
    expect(seen.map((r) => r.body)).toEqual(['for Bearer alice', 'for Bearer bob', 'for Bearer alice', 'for Bearer bob', 'for (anonymous)']);
    // And the variants really are cached side by side (nginx ≥ 1.7.7 keys secondary entries on the Vary'd headers).
    expect(seen.map((r) => r.cacheStatus)).toEqual(['MISS', 'MISS', 'HIT', 'HIT', 'MISS']);
    expect(hits.get('/vary')).toBe(3);
  });

  it('never stores a 500 marked no-store', async () => {
    for (let i = 1; i <= 2; i++) {
      const res = await get('/error');
      expect(res).toMatchObject({ status: 500, cacheStatus: 'MISS', body: `error ${i}` });
    }
    expect(hits.get('/error')).toBe(2);
  });

  it('stops: the port no longer accepts connections', async () => {
    // A cache of its own: stopping the shared one would break any test that runs after this one.
    const own = await startNginxCache(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`);
    try {
      expect(await accepts(own.url)).toBe(true);
      await own.stop();
      expect(await accepts(own.url)).toBe(false);
    } finally {
      await own.stop();
    }
  });
});
