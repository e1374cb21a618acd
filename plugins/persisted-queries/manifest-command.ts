import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseCommandArgs, UsageError, type Command } from '../../runtime/command.js';
import { StartupError } from '../../runtime/process.js';
import { buildManifest } from './manifest.js';

const usage = 'usage: geofed pq manifest <folder of .graphql files> [--out persisted-query-manifest.json]';

/**
 * `geofed pq manifest <folder>` (`npm run pq:manifest -- <folder>`): writes the
 * persisted-query list of every .graphql file under the folder (recursively)
 * in Apollo's manifest format.
 */
export const persistedQueryCommand: Command = {
  usage,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, { out: { type: 'string', default: 'persisted-query-manifest.json' } }, true);
    const [verb, folder, ...extra] = positionals;
    if (verb !== 'manifest') throw new UsageError(verb === undefined ? 'a subcommand is required' : `unknown subcommand "${verb}"`);
    if (!folder) throw new UsageError('a folder of .graphql operation files is required');
    if (extra.length > 0) throw new UsageError(`one folder only (got also ${extra.join(' ')})`);
    let isFolder: boolean;
    try {
      isFolder = statSync(folder).isDirectory();
    } catch (error) {
      throw new StartupError(`cannot read ${folder} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    if (!isFolder) throw new UsageError(`${folder} is not a folder`);
    // Sorted so that the same files always give the same manifest, byte for byte.
    const files = readdirSync(folder, { recursive: true, encoding: 'utf8' })
      .filter((name) => name.endsWith('.graphql'))
      .sort();
    if (files.length === 0) throw new StartupError(`no .graphql file under ${folder}`);
    const manifest = buildManifest(files.map((name) => ({ file: relative(process.cwd(), join(folder, name)), text: readFileSync(join(folder, name), 'utf8') })));
    writeFileSync(values.out, `${JSON.stringify(manifest, null, 2)}\n`);
    console.log(`pq manifest: ${manifest.operations.length} operations from ${files.length} files → ${values.out}`);
  },
};
