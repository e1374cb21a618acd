import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { prefersHtml, wantsLandingPage } from '../gateway/landing-page.js';

// Which GET /graphql is a browser's navigation (docs/landing-page.md, "Which requests get the page").

describe('prefersHtml', () => {
  it.each([
    ['text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8', true],
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', true],
    ['text/html', true],
    ['TEXT/HTML; charset=utf-8', true],
    ['text/*, application/json;q=0.5', true],
    ['application/json;q=0.9, text/html', true],
    ['text/*, */*', true],
  ])('%s: the page', (accept, expected) => expect(prefersHtml(accept)).toBe(expected));

  it.each([
    [undefined],
    [''],
    ['*/*'],
    ['application/json'],
    ['application/graphql-response+json, application/json;q=0.9'],
    ['application/json, text/html'],
    ['text/html, application/json'],
    ['text/html;q=0, */*'],
    ['text/html;q=0.5, application/json'],
    ['text/html;q=abc'],
    ['garbage'],
  ])('%s: GraphQL', (accept) => expect(prefersHtml(accept)).toBe(false));
});

describe('wantsLandingPage', () => {
  const browser = 'text/html,*/*;q=0.8';
  const request = (method: string, accept = browser) => ({ method, headers: { accept } }) as unknown as IncomingMessage;
  const url = (search: string) => new URL(`http://gateway.test/graphql${search}`);

  it('is a browser\'s GET without an operation', () => {
    expect(wantsLandingPage(request('GET'), url(''))).toBe(true);
    expect(wantsLandingPage(request('GET'), url('?tab=1'))).toBe(true);
  });

  it('is never a request that carries an operation, another method, or a client that wants JSON', () => {
    expect(wantsLandingPage(request('GET'), url('?query=%7B__typename%7D'))).toBe(false);
    expect(wantsLandingPage(request('GET'), url('?query='))).toBe(false);
    expect(wantsLandingPage(request('GET'), url('?extensions=%7B%7D'))).toBe(false);
    expect(wantsLandingPage(request('POST'), url(''))).toBe(false);
    expect(wantsLandingPage(request('HEAD'), url(''))).toBe(false);
    expect(wantsLandingPage(request('GET', '*/*'), url(''))).toBe(false);
  });
});
