import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

// The README and docs/ are the project's contract (README, first section): a reader of the repository alone must be
// able to follow every reference. So a document links only files of the repository that exist (and headings that
// exist), never a web page or a file outside the repository. Prose carries no URL at all: an example URL goes in
// code, and there only a loopback address or a reserved example domain (RFC 2606: .example, .test, .invalid,
// example.com) is allowed. A repository path written as code (`gateway/routes.ts`) must name a file that exists.

const root = resolve('.');
/** Not the project's documents: dependencies, generated benchmark reports, local data. */
const skipped = new Set(['node_modules', '.git', '.geofed', join('bench', 'results')]);
/** The repository's top folders: a code span that starts with one of them is a path of the repository. */
const topFolders = ['protocol', 'runtime', 'gateway', 'plugins', 'schema', 'subgraphs', 'dev', 'cli', 'test', 'bench', 'docs', '.ci'];
/** Folders the repository ignores (.gitignore): what a document says lands there is written by a run, not committed. */
const generated = readFileSync('.gitignore', 'utf8').split('\n').map((line) => line.trim()).filter((line) => line.endsWith('/') && !/[*?[!#]/.test(line));

function markdownFiles(dir = root): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (skipped.has(relative(root, path))) return [];
    if (entry.isDirectory()) return markdownFiles(path);
    return entry.name.endsWith('.md') ? [relative(root, path)] : [];
  });
}

interface Parsed {
  /** Text outside code, by line number. */
  readonly prose: { line: number; text: string }[];
  /** Fenced blocks and inline code spans, by line number. */
  readonly code: { line: number; text: string; inline: boolean }[];
  /** The anchors of the file's headings, as GitHub makes them. */
  readonly anchors: Set<string>;
}

function parse(markdown: string): Parsed {
  const prose: Parsed['prose'] = [];
  const code: Parsed['code'] = [];
  const anchors = new Set<string>();
  let fence: string | undefined;
  markdown.split('\n').forEach((text, index) => {
    const line = index + 1;
    const marker = /^\s*(`{3,}|~{3,})/.exec(text)?.[1];
    if (fence !== undefined) {
      if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
      else code.push({ line, text, inline: false });
      return;
    }
    if (marker !== undefined) {
      fence = marker;
      return;
    }
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(text)?.[1];
    if (heading !== undefined) anchors.add(uniqueAnchor(anchors, slug(heading)));
    prose.push({ line, text: text.replace(/(`+)(.+?)\1/g, (_, _ticks: string, span: string) => (code.push({ line, text: span, inline: true }), ' ')) });
  });
  return { prose, code, anchors };
}

/** GitHub's heading anchors: the text as rendered, lower-cased, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  const rendered = heading.replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/[`*_]{1,3}(.+?)[`*_]{1,3}/g, '$1');
  return rendered.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

function uniqueAnchor(taken: ReadonlySet<string>, anchor: string): string {
  if (!taken.has(anchor)) return anchor;
  for (let n = 1; ; n += 1) if (!taken.has(`${anchor}-${n}`)) return `${anchor}-${n}`;
}

const urlPattern = /\b[a-z][a-z\d+.-]*:\/\/[^\s"'`<>)\]]+/gi;
const linkPattern = /!?\[[^\]]*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g;
const referencePattern = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/;
const exampleHost = /^(localhost|127\.0\.0\.1|\[::1\]|0\.0\.0\.0|example\.(com|org|net)|.+\.(example|test|invalid|localhost))$/i;

/** The host of a URL written in code, when it is not a loopback address or a reserved example domain. */
function outsideHost(url: string): string | undefined {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return url;
  }
  return exampleHost.test(host) ? undefined : host;
}

/** Every reference of one document that a reader of the repository alone could not follow. */
function problemsOf(file: string, markdown: string, anchorsOf: (file: string) => Set<string> | undefined): string[] {
  const { prose, code, anchors } = parse(markdown);
  const problems: string[] = [];
  const at = (line: number, what: string) => problems.push(`${file}:${line}: ${what}`);
  const checkTarget = (line: number, target: string) => {
    if (/^[a-z][a-z\d+.-]*:/i.test(target)) return at(line, `links outside the repository: ${target}`);
    const [path = '', anchor] = target.split('#', 2);
    if (path.startsWith('/')) return at(line, `links an absolute path: ${target}`);
    const resolved = path === '' ? resolve(root, file) : resolve(root, dirname(file), decodeURIComponent(path));
    const inRepo = relative(root, resolved);
    if (inRepo === '..' || inRepo.startsWith(`..${sep}`)) return at(line, `links a file outside the repository: ${target}`);
    if (!existsSync(resolved)) return at(line, `links a file that does not exist: ${target}`);
    if (anchor !== undefined && anchor !== '' && resolved.endsWith('.md')) {
      const known = path === '' ? anchors : anchorsOf(inRepo);
      if (!known?.has(anchor.toLowerCase())) at(line, `links a heading that does not exist: ${target}`);
    }
  };
  for (const { line, text } of prose) {
    for (const [, target = ''] of text.matchAll(linkPattern)) checkTarget(line, target);
    const reference = referencePattern.exec(text)?.[1];
    if (reference !== undefined) checkTarget(line, reference);
    // Whatever is left once the links are gone: a URL in prose is a link too (GitHub makes it one).
    for (const [url] of text.replace(linkPattern, ' ').matchAll(urlPattern)) at(line, `names a URL in prose (put an example in code): ${url}`);
    if (/(^|[\s(])\.\.\/shared\b/.test(text)) at(line, 'refers to ../shared, outside the repository');
  }
  for (const { line, text, inline } of code) {
    for (const [url] of text.matchAll(urlPattern)) {
      const host = outsideHost(url);
      if (host !== undefined) at(line, `names a host outside the repository in code (use localhost or a .example domain): ${url}`);
    }
    if (/\.\.\/shared\b/.test(text)) at(line, 'refers to ../shared, outside the repository');
    const path = inline ? text.trim() : undefined;
    const named = path !== undefined && topFolders.some((folder) => path.startsWith(`${folder}/`)) && /^[\w./-]+$/.test(path) && !generated.some((folder) => path.startsWith(folder));
    if (named && !existsSync(resolve(root, path))) {
      at(line, `names a file of the repository that does not exist: ${path}`);
    }
  }
  return problems;
}

const files = markdownFiles();
const texts = new Map(files.map((file) => [file, readFileSync(file, 'utf8')]));
const anchorsOf = (file: string) => (texts.has(file) ? parse(texts.get(file)!).anchors : undefined);

describe('the documents link only the repository', () => {
  it('finds the README and every document under docs/', () => {
    expect(files).toContain('README.md');
    expect(files.filter((file) => file.startsWith(`docs${sep}`)).length).toBeGreaterThanOrEqual(5);
    expect(files.some((file) => file.startsWith(`bench${sep}results`) || file.startsWith('node_modules'))).toBe(false);
  });

  it.each(files)('%s', (file) => {
    expect(problemsOf(file, texts.get(file)!, anchorsOf)).toEqual([]);
  });

  it('flags each kind of reference a reader could not follow, and nothing else', () => {
    const sample = [
      '# Title',
      '## The `geofed` command',
      'See [the spec](https://graphql.github.io/graphql-over-http/), <https://example.org/x> and https://github.com/x/y.',
      'Also [the brief](../shared/DESIGN.md), [root](/etc/passwd), [gone](docs/nope.md), [bad anchor](#nowhere).',
      'Fine: [docs](docs/), [errors](docs/errors.md#http-status), [here](#the-geofed-command), [self](#title).',
      'A path in code: `gateway/routes.ts` exists, `gateway/nope.ts` does not; `subgraphs/<name>/server.ts` is a pattern; `test/output/x.png` is written by a run.',
      '```sh',
      'curl -s localhost:4000/graphql http://127.0.0.1:4001/graphql https://shop.example https://cdn.jsdelivr.net/x.js',
      '```',
      '[spec]: https://spec.graphql.org/',
    ].join('\n');
    expect(problemsOf('README.md', sample, anchorsOf)).toEqual([
      'README.md:3: links outside the repository: https://graphql.github.io/graphql-over-http/',
      'README.md:3: names a URL in prose (put an example in code): https://example.org/x',
      'README.md:3: names a URL in prose (put an example in code): https://github.com/x/y.',
      'README.md:4: links a file outside the repository: ../shared/DESIGN.md',
      'README.md:4: links an absolute path: /etc/passwd',
      'README.md:4: links a file that does not exist: docs/nope.md',
      'README.md:4: links a heading that does not exist: #nowhere',
      'README.md:4: refers to ../shared, outside the repository',
      'README.md:10: links outside the repository: https://spec.graphql.org/',
      'README.md:10: names a URL in prose (put an example in code): https://spec.graphql.org/',
      'README.md:6: names a file of the repository that does not exist: gateway/nope.ts',
      'README.md:8: names a host outside the repository in code (use localhost or a .example domain): https://cdn.jsdelivr.net/x.js',
    ]);
  });
});
