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
  return { req, res, outcome: () => ({ status: res.statusCode, ended: res.writableEnded, headers: { ...res.getHeaders() } }) };
}

const frontends = ['https://app.example.com', 'https://admin.example.com'];
const exposed = 'etag, retry-after, ratelimit-limit, ratelimit-remaining, ratelimit-reset, geofed-consistency, x-geofed-gateway-region, x-geofed-data-region, x-geofed-global-region, x-geofed-home-region, x-geofed-home-endpoint';
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

  it('answers a preflight from any origin when * is allowed', () => {
    const { req, res, outcome } = exchange('OPTIONS', 'https://anywhere.example');
    expect(applyCors(req, res, ['*'])).toEqual(true);
    expect(outcome().status).toEqual(204);
    expect(outcome().headers['access-control-allow-origin']).toEqual('*');
  });

  it('refuses a preflight from another origin, or none, with 403 and no CORS headers', () => {
    for (const origin of ['https://evil.example', undefined]) {
      const { req, res, outcome } = exchange('OPTIONS', origin);
      expect(applyCors(req, res, frontends)).toEqual(true);
      expect(outcome()).toEqual({ status: 403, ended: true, headers: { vary: 'Authorization, Origin', 'cache-control': 'no-store' } });
    }
  });

  it('refuses every preflight when no origin is configured', () => {
    const { req, res, outcome } = exchange('OPTIONS', 'https://app.example.com');
    expect(applyCors(req, res, [])).toEqual(true);
    expect(outcome().status).toEqual(403);
  });
});
