import type { Random } from './random.js';
import { edgeString, graphqlString, randomUnicode } from './operations.js';

// The mutation half of the fuzz: generated documents corrupted token by token, the way a broken
// client or an attacker's mutator would send them.

const tokenPattern = /"""[\s\S]*?"""|"(?:[^"\\\n]|\\.)*"|\.\.\.|[!$&()[\]{}:=@|]|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|[_A-Za-z][_0-9A-Za-z]*|\s+|[\s\S]/gu;

/** A document's lexical tokens, whitespace included, so that joining them gives the text back. */
export function tokensOf(text: string): string[] {
  return text.match(tokenPattern) ?? [];
}

const punctuators = ['{', '}', '(', ')', '[', ']', ':', '!', '$', '@', '...', '=', '|', '&', ',', '"', '"""', '#', '\\'];

const mutations: readonly (readonly [number, (tokens: string[], rng: Random) => string[]])[] = [
  [3, (t, rng) => (t.length > 0 ? t.toSpliced(rng.int(0, t.length - 1), 1) : t)],
  [3, (t, rng) => { const i = rng.int(0, Math.max(0, t.length - 1)); return t.toSpliced(i, 0, t[i] ?? '{'); }],
  [2, (t, rng) => {
    if (t.length < 2) return t;
    const copy = [...t];
    const i = rng.int(0, copy.length - 1);
    const j = rng.int(0, copy.length - 1);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
    return copy;
  }],
  [3, (t, rng) => t.toSpliced(rng.int(0, t.length), 0, rng.pick(punctuators))],
  [2, (t, rng) => t.toSpliced(rng.int(0, t.length), 0, rng.pick(['{', '{{', '{ {', '}', '}}']))],
  [2, (t) => { const i = t.lastIndexOf('}'); return i >= 0 ? t.toSpliced(i, 1) : t; }],
  [2, (t, rng) => {
    const names = t.flatMap((tok, i) => (/^[_A-Za-z]/.test(tok) ? [i] : []));
    if (names.length === 0) return t;
    return t.toSpliced(rng.pick(names), 1, rng.pick(['a'.repeat(rng.pick([256, 1_000, 70_000])), `_${'x'.repeat(5_000)}`, 'constructor', '__proto__', 'toString', 'hasOwnProperty']));
  }],
  [2, (t, rng) => {
    const strings = t.flatMap((tok, i) => (tok.startsWith('"') ? [i] : []));
    if (strings.length === 0) return t;
    return t.toSpliced(rng.pick(strings), 1, rng.chance(0.8) ? graphqlString(edgeString(rng)) : rng.pick(['"unterminated', '"\\u{1F600}"', '"\\uD800"', '"\\uDC00\\uD800"', '"\\x41"', '"\\u00"', '"""block\r\n"""', '"""\\""""']));
  }],
  [2, (t, rng) => {
    const text = t.join('');
    return tokensOf(text.slice(0, rng.int(0, text.length)));
  }],
  [2, (t, rng) => t.toSpliced(rng.int(0, t.length), 0, randomUnicode(rng, rng.int(1, 12)))],
  [1, (t, rng) => t.toSpliced(rng.int(0, t.length), 0, rng.pick(['\u0000', '\ufeff', '\r', '\u2028', '\u00a0', '\ud800', '# comment\r\n', '#\u0000\n', '\t\v\f']))],
  [1, (t, rng) => t.toSpliced(rng.int(0, t.length), 0, rng.pick(['query', 'mutation', 'subscription', 'fragment', 'on', 'null', 'true', '$$', '@@', '...on', '99999999999999999999999', '-', '1e', '.5', '0x1']))],
  [1, (t, rng) => {
    const keyword = t.findIndex((tok) => /^(query|mutation|fragment|on|true|false|null)$/.test(tok));
    return keyword >= 0 ? t.toSpliced(keyword, 1, rng.pick([t[keyword]!.toUpperCase(), `${t[keyword]}s`, ''])) : t;
  }],
  [1, (t, rng) => Array.from({ length: rng.pick([2, 3, 50]) }, () => t).flat()],
  [1, (t, rng) => {
    const depth = rng.pick([100, 1_000, 10_000]);
    return [`{ me ${'{ orders '.repeat(depth)}{ id }${' }'.repeat(depth)} }`];
  }],
  [1, (t, rng) => [...t, ' ', rng.pick(['{ }', '{ me }', 'query { me { id } }', 'query Fuzz { __typename }', 'fragment F on User { id }', '...F'])]],
];

/** The document with one to four random corruptions. */
export function mutateText(rng: Random, text: string): string {
  let tokens = tokensOf(text);
  const rounds = rng.weighted([[5, 1], [3, 2], [1, 4]]);
  for (let i = 0; i < rounds; i += 1) tokens = rng.weighted(mutations)(tokens, rng);
  return tokens.join('');
}
