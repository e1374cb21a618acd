import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { applyCors } from '../gateway/cors.js';

/** A request and its response as node:http builds them, on a socket that never connects. */
function exchange(method: string, origin?: string) {
  const req = new IncomingMessage(new Socket());
  req.method = method;
  req.headers = origin === undefined ? {} : { origin };
  const res = new ServerResponse(req);
  let body = '';
  const end = res.end.bind(res);
  res.end = ((chunk?: unknown) => {
    if (typeof chunk === 'string') body = chunk;
    return end();
  }) as typeof res.end;
  return { req, res, outcome: () => ({ status: res.statusCode, ended: res.writableEnded, headers: { ...res.getHeaders() } }), body: () => body };
}

/** The one error of a refused preflight's body. */
function refusalOf(body: string): { message: string; code: unknown } {
  const { errors } = JSON.parse(body) as { errors: { message: string; extensions: { code: unknown } }[] };
  expect(errors).toHaveLength(1);
  return { message: errors[0]!.message, code: errors[0]!.extensions.code };
}

const frontends = ['https://app.example.com', 'https://admin.example.com'];
const exposed = 'etag, retry-after, ratelimit-policy, ratelimit, ratelimit-limit, ratelimit-remaining, ratelimit-reset, geofed-consistency, x-geofed-gateway-region, x-geofed-data-region, x-geofed-global-region, x-geofed-home-region, x-geofed-home-endpoint, x-geofed-version';
const preflightAllowed = {
  'access-control-allow-methods': 'GET, POST, OPTIONS',
  'access-control-allow-headers': 'content-type, authorization, apollo-require-preflight, x-apollo-operation-name, geofed-consistency',
  'access-control-max-age': '600',
};

describe('applyCors', () => {
  it('lets an allowed origin read the response, leaving the route to answer', () => {
    const { req, res, outcome } = exchange('POST', 'https://app.example.com');
    expect(applyCors(req, res, frontends)).toEqual(false);
    expect(outcome()).toEqual({
      status: 200,
      ended: false,
      headers: { 'access-control-allow-origin': 'https://app.example.com', 'access-control-expose-headers': exposed, vary: 'Authorization, Origin' },
    });
  });

  it('answers any origin with * when * is allowed', () => {
    const { req, res, outcome } = exchange('GET', 'https://anywhere.example');
    expect(applyCors(req, res, ['*'])).toEqual(false);
    expect(outcome().headers).toEqual({ 'access-control-allow-origin': '*', 'access-control-expose-headers': exposed, vary: 'Authorization, Origin' });
  });

  it('sets only Vary for another origin or a request without one', () => {
    for (const origin of ['https://evil.example', 'https://app.example.com.evil.example', undefined]) {
      const { req, res, outcome } = exchange('POST', origin);
      expect(applyCors(req, res, frontends)).toEqual(false);
      expect(outcome()).toEqual({ status: 200, ended: false, headers: { vary: 'Authorization, Origin' } });
    }
  });

  it('answers an allowed preflight itself with 204', () => {
    const { req, res, outcome } = exchange('OPTIONS', 'https://admin.example.com');
    expect(applyCors(req, res, frontends)).toEqual(true);
    expect(outcome()).toEqual({
      status: 204,
      ended: true,
      headers: {
        'access-control-allow-origin': 'https://admin.example.com',
        'access-control-expose-headers': exposed,
        ...preflightAllowed,
        vary: 'Authorization, Origin',
        'cache-control': 'no-store',
      },
    });
  });

  it('allows the headers the gateway forwards to subgraphs (headers.forward) in a preflight', () => {
    const { req, res, outcome } = exchange('OPTIONS', 'https://admin.example.com');
    expect(applyCors(req, res, frontends, ['x-request-id', 'authorization'])).toEqual(true);
    expect(String(outcome().headers['access-control-allow-headers']).split(', ')).toEqual(expect.arrayContaining(['authorization', 'content-type', 'x-request-id']));
    expect(String(outcome().headers['access-control-allow-headers']).split(', ').filter((h) => h === 'authorization')).toHaveLength(1);
  });

  it('answers a preflight from any origin when * is allowed', () => {
    const { req, res, outcome } = exchange('OPTIONS', 'https://anywhere.example');
    expect(applyCors(req, res, ['*'])).toEqual(true);
    expect(outcome().status).toEqual(204);
    expect(outcome().headers['access-control-allow-origin']).toEqual('*');
  });

  it('refuses a preflight from another origin, or none, with 403, no CORS headers and a JSON body', () => {
    for (const origin of ['https://evil.example', undefined]) {
      const { req, res, outcome, body } = exchange('OPTIONS', origin);
      expect(applyCors(req, res, frontends)).toEqual(true);
      expect(outcome()).toEqual({
        status: 403,
        ended: true,
        headers: { vary: 'Authorization, Origin', 'cache-control': 'no-store', 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body()) },
      });
      expect(refusalOf(body()).code).toBe('CORS_ORIGIN_REFUSED');
    }
  });

  it('names the refused origin and the setting that allows it', () => {
    for (const origin of ['https://evil.example', 'http://localhost:5174', 'http://[::1]:3000', 'https://APP.example.com']) {
      const { req, res, body } = exchange('OPTIONS', origin);
      applyCors(req, res, frontends);
      expect(refusalOf(body()).message).toBe(`CORS preflight refused: origin ${origin} is not allowed. Add it to cors.allowed_origins in the gateway's supergraph.yaml.`);
    }
  });

  it('says that no origin is allowed when none is configured', () => {
    const { req, res, outcome, body } = exchange('OPTIONS', 'https://app.example.com');
    expect(applyCors(req, res, [])).toEqual(true);
    expect(outcome().status).toEqual(403);
    expect(refusalOf(body()).message).toMatch(/origin https:\/\/app\.example\.com is not allowed\. Add it to cors\.allowed_origins in the gateway's supergraph\.yaml \(empty: no browser origin is allowed\)/);
  });

  it('explains the "null" origin of a file or sandboxed page', () => {
    const { req, res, body } = exchange('OPTIONS', 'null');
    applyCors(req, res, frontends);
    expect(refusalOf(body()).message).toMatch(/origin "null" \(a page opened from a file, or a sandboxed frame\): serve the page over http\(s\) and add its origin to cors\.allowed_origins/);
  });

  it('never repeats an Origin header that is not a valid http(s) origin, nor one too long to be one', () => {
    const hostile = [
      'https://evil.example/<script>alert(1)</script>',
      'javascript:alert(1)',
      'https://user:pass@evil.example',
      'https://evil.example/path',
      'https://evil.example "injected"',
      `https://${'a'.repeat(300)}.example`,
      'x'.repeat(10_000),
    ];
    for (const origin of hostile) {
      const { req, res, body } = exchange('OPTIONS', origin);
      applyCors(req, res, frontends);
      const { message, code } = refusalOf(body());
      expect(code).toBe('CORS_ORIGIN_REFUSED');
      expect(message).toBe("CORS preflight refused: the Origin header is not an http(s) origin such as https://app.example.com (not repeated here), and only the origins of cors.allowed_origins in the gateway's supergraph.yaml are allowed.");
      expect(body().length).toBeLessThan(400);
    }
  });
});
