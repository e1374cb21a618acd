// `npm run pq:manifest -- <folder> [--out persisted-query-manifest.json]`: writes the persisted-query
// list of every .graphql file under <folder> (recursively) in Apollo's manifest format.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { buildManifest, ManifestError } from './manifest.js';

const usage = 'usage: npm run pq:manifest -- <folder of .graphql files> [--out persisted-query-manifest.json]';

function fail(message: string, code = 2): never {
  console.error(`pq:manifest: ${message}${code === 2 ? `\n${usage}` : ''}`);
  process.exit(code);
}

let parsed;
try {
  parsed = parseArgs({ allowPositionals: true, options: { out: { type: 'string', default: 'persisted-query-manifest.json' } } });
} catch (error) {
  fail((error as Error).message);
}
const [folder, ...extra] = parsed.positionals;
if (!folder) fail('a folder of .graphql operation files is required');
if (extra.length > 0) fail(`one folder only (got also ${extra.join(' ')})`);
try {
  if (!statSync(folder).isDirectory()) fail(`${folder} is not a folder`);
} catch (error) {
  fail(`cannot read ${folder} (${(error as Error).message})`, 1);
}

// Sorted so that the same files always give the same manifest, byte for byte.
const files = readdirSync(folder, { recursive: true, encoding: 'utf8' })
  .filter((name) => name.endsWith('.graphql'))
  .sort();
if (files.length === 0) fail(`no .graphql file under ${folder}`, 1);

try {
  const manifest = buildManifest(files.map((name) => ({ file: relative(process.cwd(), join(folder, name)), text: readFileSync(join(folder, name), 'utf8') })));
  writeFileSync(parsed.values.out, `${JSON.stringify(manifest, null, 2)}\n`);
  console.log(`pq:manifest: ${manifest.operations.length} operations from ${files.length} files → ${parsed.values.out}`);
} catch (error) {
  if (error instanceof ManifestError) fail(error.message, 1);
  throw error;
}
