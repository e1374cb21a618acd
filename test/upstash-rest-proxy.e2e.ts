import { randomBytes } from 'node:crypto';
import { Redis as UpstashRedis } from '@upstash/redis';
import { Redis as IORedis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstashRestProxy, type UpstashRestProxy } from '../dev/upstash-rest-proxy.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const PREFIX = `upstash-rest-proxy-test:${randomBytes(6).toString('hex')}:`;
const key = (name: string) => `${PREFIX}${name}`;
// Non-ASCII, control and JSON-hostile characters: they must survive JSON + base64 both ways.
const AWKWARD = 'héllo wörld ✓ 日本語 🚀 \u0000\u0001\u001f\u007f "quoted" \\ back\nslash';

let proxy: UpstashRestProxy;
let direct: IORedis;

beforeAll(async () => {
  try {
    proxy = await startUpstashRestProxy({ redisUrl: REDIS_URL });
  } catch (error) {
    throw new Error(
      `These tests need a real Redis on ${REDIS_URL} (start redis-server); they never skip. ${(error as Error).message}`,
    );
  }
  direct = new IORedis(REDIS_URL, { protocol: 2, maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  if (direct) {
    const keys: string[] = [];
    for await (const batch of direct.scanStream({ match: `${PREFIX}*`, count: 500 })) keys.push(...(batch as string[]));
    if (keys.length > 0) await direct.del(...keys);
    direct.disconnect();
  }
  await proxy?.stop();
});

const client = (options: { autoPipelining?: boolean; token?: string } = {}) =>
  new UpstashRedis({
    url: proxy.url,
    token: options.token ?? proxy.token,
    enableAutoPipelining: options.autoPipelining ?? false,
    enableTelemetry: false,
    retry: false,
  });

async function raw(path: string, body: string | undefined, headers: Record<string, string> = {}) {
  const response = await fetch(`${proxy.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${proxy.token}`, 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: response.status, type: response.headers.get('content-type'), json: (await response.json()) as unknown };
}

// Without auto-pipelining the client uses POST /, with it (its default) POST /pipeline.
describe.each([
  ['single commands', false],
  ['auto-pipelined', true],
])('@upstash/redis through the proxy (%s)', (variant, autoPipelining) => {
  const k = (name: string) => key(`${variant}:${name}`);

  it('round-trips a value with non-ASCII and control characters byte for byte', async () => {
    const redis = client({ autoPipelining });
    expect(await redis.set(k('text'), AWKWARD)).toBe('OK');
    expect(await redis.get(k('text'))).toBe(AWKWARD);
    expect(await direct.getBuffer(k('text'))).toEqual(Buffer.from(AWKWARD, 'utf8'));
    await redis.set(k('json'), { nested: [1, 'two', null] });
    expect(await redis.get(k('json'))).toEqual({ nested: [1, 'two', null] });
  });

  it('returns integers as numbers and a missing key as null', async () => {
    const redis = client({ autoPipelining });
    expect(await redis.incr(k('counter'))).toBe(1);
    expect(await redis.incrby(k('counter'), 41)).toBe(42);
    expect(await redis.get(k('missing'))).toBeNull();
    expect(await redis.hget(k('missing-hash'), 'field')).toBeNull();
  });

  it('supports hashes (hset / hgetall)', async () => {
    const redis = client({ autoPipelining });
    expect(await redis.hset(k('hash'), { name: 'Ada', city: 'Zürich', age: 36 })).toBe(3);
    expect(await redis.hgetall(k('hash'))).toEqual({ name: 'Ada', city: 'Zürich', age: 36 });
  });

  it('runs EVAL, SCRIPT LOAD + EVALSHA, and reports NOSCRIPT for an unknown sha', async () => {
    const redis = client({ autoPipelining });
    const script = "return {KEYS[1], ARGV[1], redis.call('INCRBY', KEYS[1], ARGV[2])}";
    expect(await redis.eval(script, [k('lua')], ['tag', 5])).toEqual([k('lua'), 'tag', 5]);
    const sha = await redis.scriptLoad(script);
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    expect(await redis.evalsha(sha, [k('lua')], ['again', 2])).toEqual([k('lua'), 'again', 7]);
    await expect(redis.evalsha('f'.repeat(40), [k('lua')], [])).rejects.toThrow(/NOSCRIPT/);
  });
});

describe('Upstash REST proxy', () => {
  it('runs an explicit pipeline, each command on its own', async () => {
    const redis = client();
    const results = await redis
      .pipeline()
      .set(key('p:a'), 'one')
      .incr(key('p:n'))
      .incr(key('p:n'))
      .get(key('p:a'))
      .get(key('p:none'))
      .exec();
    expect(results).toEqual(['OK', 1, 2, 'one', null]);
    // A failing command does not stop the others.
    const kept = await redis.pipeline().incr(key('p:a')).incr(key('p:n')).exec({ keepErrors: true });
    expect(kept[0]?.error).toMatch(/^ERR value is not an integer/);
    expect(kept[1]).toEqual({ error: undefined, result: 3 });
  });

  it('runs multi() as one MULTI/EXEC transaction', async () => {
    const redis = client();
    const transaction = redis.multi().set(key('m:a'), AWKWARD).incr(key('m:n')).incr(key('m:n')).get(key('m:a'));
    expect(await transaction.exec()).toEqual(['OK', 1, 2, AWKWARD]);
    // A runtime error fails only its own command; the client then rejects the whole exec().
    await expect(redis.multi().incr(key('m:a')).incr(key('m:n')).exec()).rejects.toThrow(
      /Command 1 \[ incr \] failed: ERR value is not an integer/,
    );
    expect(await direct.get(key('m:n'))).toBe('3');
  });

  it('discards a transaction with a command Redis refuses to queue (HTTP 400, nothing applied)', async () => {
    const response = await raw('/multi-exec', JSON.stringify([['INCR', key('abort')], ['NO-SUCH-COMMAND']]));
    expect(response.status).toBe(400);
    expect(response.json).toEqual({ error: expect.stringMatching(/^EXECABORT .*unknown command/) });
    expect(await direct.exists(key('abort'))).toBe(0);
  });

  it('counts exactly one forwarded command for one single command', async () => {
    const redis = client();
    await redis.set(key('count'), 'x');
    const before = proxy.commandCount();
    await redis.get(key('count'));
    expect(proxy.commandCount()).toBe(before + 1);
  });

  it('base64-encodes every string at any depth when asked, leaving numbers and nulls', async () => {
    await direct.set(key('b64'), 'OK');
    const b64 = (text: string) => Buffer.from(text).toString('base64');
    const body = JSON.stringify(['EVAL', "return {redis.call('GET', KEYS[1]), 7, false, {'né'}}", 1, key('b64')]);
    const encoded = await raw('/', body, { 'upstash-encoding': 'base64' });
    expect(encoded.json).toEqual({ result: [b64('OK'), 7, null, [b64('né')]] });
    expect((await raw('/', body)).json).toEqual({ result: ['OK', 7, null, ['né']] });
    const status = await raw('/', JSON.stringify(['SET', key('b64'), 'v']), { 'upstash-encoding': 'base64' });
    expect(status.json).toEqual({ result: b64('OK') });
  });

  it('accepts the path form with URL-decoded segments', async () => {
    const name = encodeURIComponent(key('path'));
    expect((await raw(`/set/${name}/${encodeURIComponent('a/b c✓')}`, undefined)).json).toEqual({ result: 'OK' });
    expect((await raw(`/get/${name}`, undefined)).json).toEqual({ result: 'a/b c✓' });
  });

  it('reports Redis errors on single commands as HTTP 400 with the Redis message', async () => {
    await direct.set(key('string'), 'x');
    const wrongType = await raw('/', JSON.stringify(['HGET', key('string'), 'f']));
    expect(wrongType).toMatchObject({ status: 400, json: { error: expect.stringMatching(/^WRONGTYPE /) } });
    const noScript = await raw('/', JSON.stringify(['EVALSHA', '0'.repeat(40), '0']));
    expect(noScript).toMatchObject({ status: 400, json: { error: 'NOSCRIPT No matching script. Please use EVAL.' } });
  });

  it('rejects a wrong or missing token with 401', async () => {
    await expect(client({ token: 'not-the-token' }).get(key('x'))).rejects.toThrow(/Unauthorized/);
    expect(await raw('/', JSON.stringify(['PING']), { authorization: 'Bearer wrong' })).toEqual({
      status: 401,
      type: 'application/json',
      json: { error: 'Unauthorized' },
    });
    expect((await raw('/', JSON.stringify(['PING']), { authorization: '' })).status).toBe(401);
  });

  it('answers malformed bodies with a 400 JSON error and keeps serving', async () => {
    for (const [path, body] of [
      ['/', '["SET", "unterminated'],
      ['/', '{"command":"GET"}'],
      ['/', '[]'],
      ['/', '[["GET","x"]]'],
      ['/pipeline', '["GET","x"]'],
      ['/multi-exec', 'null'],
    ] as const) {
      const response = await raw(path, body);
      expect(response, `${path} ${body}`).toMatchObject({
        status: 400,
        type: 'application/json',
        json: { error: expect.stringMatching(/^ERR /) },
      });
    }
    expect((await raw('/', JSON.stringify(['PING']))).json).toEqual({ result: 'PONG' });
  });

  it('refuses commands that would change the shared connection state', async () => {
    const response = await raw('/', JSON.stringify(['SELECT', '1']));
    expect(response).toMatchObject({ status: 400, json: { error: expect.stringMatching(/^ERR .*select/) } });
  });
});
