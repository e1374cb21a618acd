import type { FuzzRequest } from './envelopes.js';
import { tokensOf } from './mutate.js';

// Shrinks a failing request to a smaller one that fails the same way: drops headers, envelope keys
// and variables, halves long strings, and removes chunks of the document's tokens (ddmin), keeping
// each step that still reproduces. Sequential, bounded by `maxAttempts` re-sends.

export interface Minimized {
  readonly request: FuzzRequest;
  readonly attempts: number;
}

type Reproduces = (candidate: FuzzRequest) => Promise<boolean>;

const sizeOf = (r: FuzzRequest) => r.path.length + (r.body === undefined ? 0 : Buffer.byteLength(r.body)) + Object.entries(r.headers).reduce((n, [k, v]) => n + k.length + v.length, 0);

/** The document's tokens without whitespace and commas. */
const compact = (document: string) => tokensOf(document).filter((t) => !/^[\s,]+$/.test(t));

/** Tokens back to text, with a space only where two tokens would otherwise run together. */
const joinTokens = (tokens: readonly string[]) => tokens.reduce((text, token) => (/[\w"]$/.test(text) && /^[\w"]/.test(token) ? `${text} ${token}` : `${text}${token}`), '');

/** Smaller variants of a JSON value, the biggest cuts first. */
function* smallerValues(value: unknown): Generator<unknown> {
  if (typeof value === 'string') {
    if (value.length > 8) {
      yield value.slice(0, Math.floor(value.length / 2));
      yield value.slice(Math.floor(value.length / 2));
    }
    return;
  }
  if (Array.isArray(value)) {
    if (value.length > 1) {
      yield value.slice(0, Math.floor(value.length / 2));
      yield value.slice(Math.floor(value.length / 2));
    }
    for (let i = 0; i < value.length; i += 1) yield value.toSpliced(i, 1);
    for (let i = 0; i < value.length; i += 1) for (const smaller of smallerValues(value[i])) yield value.toSpliced(i, 1, smaller);
    return;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    for (let i = 0; i < entries.length; i += 1) yield Object.fromEntries(entries.toSpliced(i, 1));
    for (let i = 0; i < entries.length; i += 1) {
      const [key, inner] = entries[i]!;
      for (const smaller of smallerValues(inner)) yield Object.fromEntries(entries.toSpliced(i, 1, [key, smaller]));
    }
  }
}

/** ddmin over the tokens of a document: the smallest token list `keep` accepts, within the attempt budget. */
async function shrinkTokens(tokens: string[], keep: (tokens: string[]) => Promise<boolean>, budget: () => boolean): Promise<string[]> {
  let current = tokens;
  let chunks = 2;
  while (current.length >= 2 && budget()) {
    const size = Math.ceil(current.length / chunks);
    let reduced = false;
    for (let start = 0; start < current.length && budget(); start += size) {
      const candidate = current.toSpliced(start, size);
      if (candidate.length > 0 && (await keep(candidate))) {
        current = candidate;
        chunks = Math.max(chunks - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (chunks >= current.length) break;
      chunks = Math.min(chunks * 2, current.length);
    }
  }
  return current;
}

/** The index of the token closing the group opened at `open` (`{`, `(` or `[`), or -1. */
function closing(tokens: readonly string[], open: number): number {
  const pairs: Record<string, string> = { '{': '}', '(': ')', '[': ']' };
  const close = pairs[tokens[open]!];
  if (!close) return -1;
  let depth = 0;
  for (let i = open; i < tokens.length; i += 1) {
    if (tokens[i] === tokens[open]) depth += 1;
    else if (tokens[i] === close && (depth -= 1) === 0) return i;
  }
  return -1;
}

/**
 * Ranges [start, end) of whole syntactic pieces, the longest first: a field with its alias, arguments,
 * directives and selection set; a spread or inline fragment; a directive; an argument or object field
 * (`name: value`); a list item or a group's contents.
 */
function pieces(tokens: readonly string[]): [number, number][] {
  const name = (t: string | undefined) => t !== undefined && /^[_A-Za-z]/.test(t);
  const skipGroup = (i: number) => (['(', '{', '['].includes(tokens[i] ?? '') ? closing(tokens, i) + 1 || i : i);
  const ranges: [number, number][] = [];
  for (let i = 0; i < tokens.length; i += 1) {
    const t = tokens[i]!;
    if (t === '@' && name(tokens[i + 1])) ranges.push([i, skipGroup(i + 2)]);
    if (['{', '(', '['].includes(t)) {
      const j = closing(tokens, i);
      if (j > i + 1) ranges.push([i + 1, j]);
    }
    if (t === '...') {
      let k = i + 1;
      if (tokens[k] === 'on') k += 2;
      else if (name(tokens[k])) k += 1;
      while (tokens[k] === '@') k = skipGroup(k + 2);
      ranges.push([i, skipGroup(k)]);
    }
    if (!name(t) || tokens[i - 1] === '$' || tokens[i - 1] === '@' || tokens[i - 1] === '...' || tokens[i - 1] === 'on') continue;
    let k = i + 1;
    if (tokens[k] === ':') {
      // `alias: field …` or `argument: value`
      if (name(tokens[k + 1]) && !['true', 'false', 'null'].includes(tokens[k + 1]!)) k += 2;
      else {
        k += 1;
        if (tokens[k] === '$') k += 2;
        else if (['{', '['].includes(tokens[k] ?? '')) k = skipGroup(k);
        else k += 1;
        ranges.push([i, k]);
        continue;
      }
    }
    k = skipGroup(k);
    while (tokens[k] === '@') k = skipGroup(k + 2);
    ranges.push([i, skipGroup(k)]);
  }
  return ranges.filter(([a, b]) => b > a && b <= tokens.length).sort(([a1, b1], [a2, b2]) => b2 - a2 - (b1 - a1));
}

/** Removes whole syntactic pieces while `keep` accepts, then ddmin over what is left. */
async function shrinkDocument(tokens: string[], keep: (tokens: string[]) => Promise<boolean>, budget: () => boolean): Promise<string[]> {
  let current = tokens;
  for (let progress = true; progress && budget(); ) {
    progress = false;
    for (const [start, end] of pieces(current)) {
      if (!budget()) break;
      const candidate = current.toSpliced(start, end - start);
      if (candidate.length > 0 && (await keep(candidate))) {
        current = candidate;
        progress = true;
        break;
      }
    }
  }
  return shrinkTokens(current, keep, budget);
}

export async function minimizeRequest(original: FuzzRequest, reproduces: Reproduces, maxAttempts = 300): Promise<Minimized> {
  let attempts = 0;
  let best = original;
  const budget = () => attempts < maxAttempts;
  const tryCandidate = async (candidate: FuzzRequest): Promise<boolean> => {
    if (!budget() || sizeOf(candidate) >= sizeOf(best)) return false;
    attempts += 1;
    if (await reproduces(candidate)) {
      best = candidate;
      return true;
    }
    return false;
  };

  // The envelope: POST bodies that are JSON, or the query string of a GET.
  const isGet = best.method === 'GET' && best.path.includes('?');
  const envelopeOf = (r: FuzzRequest): Record<string, unknown> | undefined => {
    if (isGet) return Object.fromEntries(new URL(r.path, 'http://x').searchParams);
    if (r.body === undefined) return undefined;
    try {
      const parsed = JSON.parse(r.body.toString()) as unknown;
      return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  };
  const withEnvelope = (r: FuzzRequest, body: Record<string, unknown>): FuzzRequest => {
    if (!isGet) return { ...r, body: JSON.stringify(body) };
    const search = new URLSearchParams(Object.entries(body).map(([k, v]): [string, string] => [k, String(v)]));
    return { ...r, path: `${r.path.split('?')[0]}?${search.toString().replaceAll('+', '%20')}` };
  };

  // 1. The document, compacted then ddmin'd by tokens.
  const env = envelopeOf(best);
  if (env && typeof env.query === 'string') {
    const tokens = compact(env.query);
    const rebuilt = (list: string[]) => withEnvelope(best, { ...envelopeOf(best), query: joinTokens(list) });
    await tryCandidate(rebuilt(tokens));
    await shrinkDocument(compact(String(envelopeOf(best)!.query)), (list) => tryCandidate(rebuilt(list)), budget);
  }
  // 2. Envelope keys, variables and long values.
  for (let changed = true; changed && budget(); ) {
    changed = false;
    const current = envelopeOf(best);
    if (!current) break;
    for (const smaller of smallerValues(current)) {
      if (!budget()) break;
      const candidate = isGet
        ? withEnvelope(best, Object.fromEntries(Object.entries(smaller as Record<string, unknown>).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])))
        : withEnvelope(best, smaller as Record<string, unknown>);
      if (await tryCandidate(candidate)) {
        changed = true;
        break;
      }
    }
  }
  // 3. A raw body that is not a JSON object: halve it.
  if (!envelopeOf(best) && best.body !== undefined) {
    for (let changed = true; changed && budget(); ) {
      changed = false;
      const body = Buffer.from(best.body);
      for (const part of [body.subarray(0, Math.floor(body.length / 2)), body.subarray(Math.floor(body.length / 2))]) {
        if (body.length > 1 && (await tryCandidate({ ...best, body: Buffer.from(part) }))) {
          changed = true;
          break;
        }
      }
    }
  }
  // 4. Headers, one at a time.
  for (const name of Object.keys(best.headers)) {
    const { [name]: _dropped, ...rest } = best.headers;
    await tryCandidate({ ...best, headers: rest });
  }
  return { request: best, attempts };
}
