import { createHash } from 'node:crypto';
import type { Caller } from './callers.js';
import type { GeneratedOperation } from './operations.js';
import type { Random } from './random.js';

// How an operation travels: a POST with a JSON envelope mostly, a GET with the same shapes in the
// query string, and every envelope a broken or hostile client sends (wrong types, batches, persisted
// query extensions, bodies that are not JSON, the wrong method or path, spoofed internal headers).

/** One HTTP request, as sent and as the report shows it to reproduce a finding. */
export interface FuzzRequest {
  readonly method: string;
  /** Path and query string. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** A string body is sent as UTF-8 (lone surrogates become U+FFFD); a Buffer as it is. */
  readonly body?: string | Buffer;
  /**
   * `reuse`: sent on a bare socket of its own, then `GET /healthz` on the same keep-alive connection,
   * which must be answered (raw-http.ts). Default: an HTTP client connection, as libraries send.
   */
  readonly transport?: 'reuse';
  /** With `reuse`: header lines sent as bytes (what a client library refuses: UTF-8, control bytes). */
  readonly rawHeaderLines?: readonly Buffer[];
}

/** Every request over 1 MiB, and a few others, go over a bare keep-alive connection with a request after them. */
export function chooseTransport(rng: Random, request: FuzzRequest): FuzzRequest {
  const size = request.body === undefined ? 0 : Buffer.byteLength(request.body);
  if (size <= 1_048_576 && !rng.chance(0.03)) return request;
  const raw = rng.chance(0.3)
    ? [rng.pick([Buffer.from('x-fuzz: ünïcödé 😀 日本', 'utf8'), Buffer.from('x-fuzz: \u00ff\u00fe', 'latin1'), Buffer.from('geofed-consistency: 0/1\u00e9', 'latin1'), Buffer.from([0x78, 0x2d, 0x66, 0x3a, 0x20, 0x80, 0x81, 0xfe]), Buffer.from('x-geofed-tenant: globex'), Buffer.from(`x-long: ${'a'.repeat(20_000)}`)])]
    : [];
  return { ...request, transport: 'reuse', ...(raw.length > 0 ? { rawHeaderLines: raw } : {}) };
}

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A few fixed queries, so that a persisted-query hash sent without its query is sometimes known. */
export const apqQueries = [
  '{ products(first: 2) { id name } }',
  'query P($id: ID!) { product(id: $id) { name priceCents } }',
  '{ me { name tenant { region } } }',
  '{ tenant { id plan } }',
] as const;

const jsonTypes = ['application/json', 'application/json', 'application/json', 'application/json; charset=utf-8', 'application/graphql-response+json', 'APPLICATION/JSON', 'application/json;charset=UTF-8'];

function baseHeaders(rng: Random, caller: Caller, contentType: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  if (contentType !== undefined) headers['content-type'] = contentType;
  if (caller.authorization !== undefined) headers.authorization = caller.authorization;
  if (rng.chance(0.12)) {
    // Extra headers an attacker adds: spoofed internal context, forged hops, consistency tokens, odd accepts.
    const extra = rng.weighted<readonly [string, string]>([
      [3, ['x-geofed-tenant', rng.pick(['globex', 'acme', 'initech'])]],
      [2, ['x-geofed-roles', 'admin']],
      [1, ['x-geofed-region', 'eu']],
      [1, ['x-geofed-user', 'usr_globex_1']],
      [1, ['x-geofed-signature', 'v1=00']],
      [2, ['x-geofed-hop-from', rng.pick(['eu', 'us', 'mars', ''])]],
      [1, ['x-geofed-hop-signature', `v1=${'0'.repeat(64)}`]],
      [1, ['x-geofed-hop-timestamp', rng.pick(['0', '99999999999', 'abc', '-1'])]],
      [3, ['geofed-consistency', rng.pick(['0/16B3748', 'FFFFFFFF/FFFFFFFF', '0/0', 'garbage', '1/2/3', 'FFFFFFFFF/0', ' 0/1', '0/1,0/2'])]],
      [2, ['accept', rng.pick(['application/graphql-response+json', 'text/html', 'multipart/mixed; deferSpec=20220824', 'text/event-stream', '*/*', 'application/xml', ''])]],
      [1, ['x-forwarded-for', rng.pick(['1.2.3.4', 'garbage', '::1, 10.0.0.1', ''])]],
      [2, ['origin', rng.pick(['http://localhost:5173', 'http://evil.example', 'null'])]],
      [1, ['if-none-match', rng.pick(['"abc"', '*', 'W/"x"'])]],
      [1, ['x-apollo-operation-name', rng.pick(['Fuzz', '', 'x'.repeat(300)])]],
    ]);
    headers[extra[0]] = extra[1];
  }
  return headers;
}

/** Percent-encodes the UTF-8 of a text (a lone surrogate becomes U+FFFD, where encodeURIComponent would throw). */
function percentEncode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) out += /[A-Za-z0-9\-_.~]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

function searchOf(params: readonly (readonly [string, string])[]): string {
  return params.map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join('&');
}

export interface EnvelopeChoice {
  /** What kind of envelope (the report counts them). */
  readonly shape: string;
  readonly request: FuzzRequest;
}

/** The HTTP request for an operation (whose document may have been mutated already) and a caller. */
export function envelope(rng: Random, op: GeneratedOperation, document: string, caller: Caller): EnvelopeChoice {
  const standard = () => {
    const body: Record<string, unknown> = { query: document };
    if (op.operationName !== undefined || rng.chance(0.1)) body.operationName = op.operationName ?? null;
    if (Object.keys(op.variables).length > 0 || rng.chance(0.2)) body.variables = op.variables;
    return body;
  };
  const post = (body: unknown, contentType: string | undefined = rng.pick(jsonTypes)): FuzzRequest => ({
    method: 'POST',
    path: '/graphql',
    headers: baseHeaders(rng, caller, contentType),
    body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
  const get = (params: readonly (readonly [string, string])[], preflight = rng.chance(0.9)): FuzzRequest => {
    const headers = baseHeaders(rng, caller, undefined);
    if (preflight) headers['apollo-require-preflight'] = 'true';
    return { method: 'GET', path: `/graphql?${searchOf(params)}`, headers };
  };
  const getParams = (body: Record<string, unknown>) =>
    Object.entries(body).flatMap(([k, v]) => (v === undefined ? [] : [[k, typeof v === 'string' ? v : JSON.stringify(v)] as const]));

  const shape = rng.weighted([
    [72, 'post'],
    [9, 'get'],
    [4, 'operation-name'],
    [3, 'wrong-types'],
    [3, 'persisted-query'],
    [2, 'batch'],
    [3, 'raw-body'],
    [2, 'get-broken'],
    [1, 'method-or-path'],
    [1, 'extra-keys'],
    [1, 'oversized'],
  ] as const);
  switch (shape) {
    case 'post':
      return { shape, request: post(standard()) };
    case 'get':
      return { shape, request: get(getParams(standard())) };
    case 'operation-name': {
      // Several operations in one document, and an operation name that is missing, empty or unknown.
      const second = rng.pick(['query Other { products(first: 1) { id } }', 'mutation M { updateProfile(name: "x") { id } }', 'query Fuzz { __typename }', 'query { __typename }']);
      const query = rng.chance(0.8) ? `${document}\n${second}` : document;
      const operationName = rng.pick([undefined, '', 'Unknown', 'Other', 'M', null, 42, ['Other'], 'Fuzz']);
      return { shape, request: post({ query, variables: op.variables, ...(operationName === undefined ? {} : { operationName }) }) };
    }
    case 'wrong-types': {
      const body = standard();
      const spoil = rng.pick(['query', 'variables', 'operationName', 'extensions'] as const);
      const wrong = rng.pick<unknown>([42, null, true, [], {}, ['a'], '', 'null', '[]', '{}', { query: document }, [document]]);
      return { shape: `wrong-${spoil}`, request: rng.chance(0.8) ? post({ ...body, [spoil]: wrong }) : get(getParams({ ...body, [spoil]: wrong })) };
    }
    case 'persisted-query': {
      const known = rng.chance(0.6);
      const query = known ? rng.pick(apqQueries) : document;
      const variables = query.includes('$id') ? { id: rng.pick(['prd_01', 'prd_02', 'prd_99']) } : op.variables;
      const hash = sha256(query);
      const variant = rng.weighted([
        [4, 'hash-and-query'],
        [4, 'hash-only'],
        [1, 'wrong-version'],
        [1, 'non-hex'],
        [1, 'short'],
        [1, 'mismatch'],
        [1, 'not-an-object'],
        [1, 'missing-hash'],
        [1, 'uppercase'],
      ] as const);
      const persistedQuery = {
        'hash-and-query': { version: 1, sha256Hash: hash },
        'hash-only': { version: 1, sha256Hash: hash },
        'wrong-version': { version: rng.pick([2, 0, '1', null, -1]), sha256Hash: hash },
        'non-hex': { version: 1, sha256Hash: `zz${hash.slice(2)}` },
        short: { version: 1, sha256Hash: hash.slice(0, rng.pick([0, 8, 63])) },
        mismatch: { version: 1, sha256Hash: sha256(`${query} `) },
        'not-an-object': rng.pick<unknown>(['abc', 1, [hash], true]),
        'missing-hash': { version: 1 },
        uppercase: { version: 1, sha256Hash: hash.toUpperCase() },
      }[variant];
      const withQuery = variant === 'hash-and-query' || variant === 'mismatch' || (variant !== 'hash-only' && rng.chance(0.5));
      const body = { ...(withQuery ? { query } : {}), variables, extensions: { persistedQuery } };
      return { shape: `apq-${variant}`, request: rng.chance(0.75) ? post(body) : get(getParams(body)) };
    }
    case 'batch': {
      const items = rng.pick([0, 1, 2, 5, 100]);
      return { shape, request: post(Array.from({ length: items }, () => standard())) };
    }
    case 'raw-body': {
      const raw = rng.weighted<() => string | Buffer>([
        [3, () => ''],
        [2, () => '{'],
        [2, () => 'null'],
        [1, () => 'true'],
        [1, () => '42'],
        [1, () => '"a string"'],
        [2, () => `{"query": ${JSON.stringify(document)}`],
        [2, () => document],
        [1, () => `query=${encodeURIComponent(document)}`],
        [1, () => '\ufeff' + JSON.stringify(standard())],
        [1, () => `${'['.repeat(rng.pick([1_000, 100_000]))}${']'.repeat(rng.pick([0, 1_000, 100_000]))}`],
        [1, () => `${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`],
        [1, () => Buffer.concat([Buffer.from('{"query":"{ products(first: 1) { name'), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]), Buffer.from(' } }"}')])],
        [1, () => Buffer.from(Array.from({ length: rng.int(1, 200) }, () => rng.int(0, 255)))],
        [1, () => JSON.stringify({ query: document }) + 'trailing'],
        [1, () => JSON.stringify({ query: document, query2: 'x'.repeat(1_100_000) })],
        [1, () => '{"query": "{ __typename }", "__proto__": {"polluted": true}, "constructor": {"prototype": {"x": 1}}}'],
        [1, () => `{"query": "{ products(first: 1) { id } }", "variables": ${'{"a":'.repeat(2_000)}1${'}'.repeat(2_000)}}`],
      ]);
      const contentType = rng.weighted<string | undefined>([
        [8, rng.pick(jsonTypes)],
        [1, 'text/plain'],
        [1, 'application/x-www-form-urlencoded'],
        [1, 'application/graphql'],
        [1, 'multipart/form-data; boundary=x'],
        [1, undefined],
        [1, 'application/jsonx'],
      ]);
      return { shape, request: post(raw(), contentType) };
    }
    case 'get-broken': {
      const variant = rng.pick(['no-preflight', 'mutation', 'duplicate-params', 'bad-variables', 'empty', 'huge', 'operation-name-header', 'encoded-garbage'] as const);
      const body = standard();
      const params = getParams(body);
      const request = {
        'no-preflight': () => get(params, false),
        mutation: () => get([['query', 'mutation { updateProfile(name: "get") { id } }']]),
        'duplicate-params': () => get([...params, ['query', '{ __typename }'], ['variables', '{}']]),
        'bad-variables': () => get([['query', document], ['variables', rng.pick(['{', '[1]', '"s"', 'null', '%', 'undefined'])]]),
        empty: () => get([]),
        huge: () => get([['query', `{ products(first: 1) { ${'name '.repeat(rng.pick([500, 3_000]))} } }`]]),
        'operation-name-header': () => {
          const plain = get(params, false);
          return { ...plain, headers: { ...plain.headers, 'x-apollo-operation-name': op.operationName ?? 'Fuzz' } };
        },
        'encoded-garbage': () => ({ ...get(params), path: `/graphql?query=${rng.pick(['%', '%zz', '%00', '%E0%A4%A', '%ED%A0%80', '{%20me%20'])}&variables=%7B` }),
      }[variant]();
      return { shape: `get-${variant}`, request };
    }
    case 'method-or-path': {
      const variant = rng.pick(['PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'path'] as const);
      const base = post(standard());
      if (variant === 'path') return { shape: 'path', request: { ...base, path: rng.pick(['/graphql/', '/GRAPHQL', '/graphql/../graphql', '/%00', '/graphql%00', '/', '/graphql;x', '//graphql', '/graphql#x', '/metrics/../graphql']) } };
      if (variant === 'OPTIONS') {
        return { shape: 'options', request: { method: 'OPTIONS', path: '/graphql', headers: { origin: rng.pick(['http://localhost:5173', 'http://evil.example', 'null']), 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' } } };
      }
      return { shape: variant.toLowerCase(), request: variant === 'HEAD' ? { method: 'HEAD', path: base.path, headers: base.headers } : { ...base, method: variant } };
    }
    case 'oversized': {
      // Just over gateway.max_body_bytes (1 MiB by default) or well over: a 413, and the connection after it.
      const size = rng.pick([1_048_577, 1_500_000, 2_500_000, 4_000_000]);
      const body = standard();
      const padded = JSON.stringify({ ...body, variables: { ...(body.variables as object | undefined), pad: '' } });
      const pad = 'x'.repeat(Math.max(0, size - Buffer.byteLength(padded)));
      return { shape, request: post(rng.chance(0.5) ? { ...body, variables: { ...(body.variables as object | undefined), pad } } : { ...body, query: `${document}\n#${pad}` }) };
    }
    case 'extra-keys':
      return { shape, request: post({ ...standard(), [rng.pick(['extensions', 'tenant', 'id', 'http', '__proto__', 'query2'])]: rng.pick<unknown>([{ persistedQuery: null }, 'globex', { tenant: 'globex' }, { clientLibrary: { name: 'x' } }]) }) };
  }
}
