import { existsSync, readFileSync } from 'node:fs';
import { constants, copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';

const require = createRequire(import.meta.url);
// The package exports no package.json; its entry lives in dist/, one level below it.
const pgliteVersion = (JSON.parse(readFileSync(join(dirname(require.resolve('@electric-sql/pglite')), '..', 'package.json'), 'utf8')) as { version: string }).version;
const templates = join(tmpdir(), 'geofed', `pglite-${pgliteVersion}`);
/** A freshly initialised cluster, as a tarball: what a database in memory is loaded from. */
const templateTarball = join(templates, 'initdb.tar');
/** The same cluster as a closed data folder: what a new database on disk is a copy of. */
const templateFolder = join(templates, 'initdb');
/**
 * A dev database holds a few hundred rows; PostgreSQL's default of 128MB
 * costs every instance a tenth of a second of its start on setting the pool up.
 */
const startParams = [...PGlite.defaultStartParams, '-c', 'shared_buffers=8MB'];

// The project's lib (ES2023) declares no WebAssembly global; Node has it.
declare const WebAssembly: { compile(bytes: Uint8Array): Promise<NonNullable<PGliteOptions['pgliteWasmModule']>> };

let runtime: Promise<Pick<PGliteOptions, 'pgliteWasmModule' | 'fsBundle'>> | undefined;
let tarball: Promise<Blob> | undefined;
let folder: Promise<string> | undefined;

/**
 * Opens a PGlite database in memory (no `dataDir`) or in a folder. A new
 * database starts from a template of a freshly initialised cluster instead of
 * running initdb (seconds per instance): on disk a copy of the template's
 * folder (copied on libuv's threads, where loading a tarball writes each file
 * from the main thread), in memory its tarball. The templates are made once
 * per PGlite version and machine, and shared by every process on it.
 */
export async function openPglite(dataDir?: string): Promise<PGlite> {
  const shared = await pgliteRuntime();
  if (dataDir === undefined) return PGlite.create({ ...shared, startParams, loadDataDir: await initdbTarball() });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await copyTemplate(await initdbFolder(), dataDir);
  return PGlite.create({ ...shared, startParams, dataDir });
}

/**
 * The WASM module compiled once and the file system bundle read once, for
 * every instance of the process. PGlite caches its module too, but only once
 * a first instance is up: instances created at once would each compile it.
 */
function pgliteRuntime(): Promise<Pick<PGliteOptions, 'pgliteWasmModule' | 'fsBundle'>> {
  runtime ??= Promise.all([readFile(require.resolve('@electric-sql/pglite/pglite.wasm')).then((bytes) => WebAssembly.compile(bytes)), readFile(require.resolve('@electric-sql/pglite/pglite.data'))]).then(
    ([pgliteWasmModule, bundle]) => ({ pgliteWasmModule, fsBundle: new Blob([bundle]) }),
  );
  return runtime;
}

function initdbTarball(): Promise<Blob> {
  tarball ??= (async () => {
    if (!existsSync(templateTarball)) {
      const fresh = await PGlite.create({ ...(await pgliteRuntime()), startParams });
      try {
        // Uncompressed: gunzipping it would cost each database in memory a part of its start.
        const dump = await fresh.dumpDataDir('none');
        await mkdir(templates, { recursive: true });
        await publish(templateTarball, async (partial) => writeFile(partial, new Uint8Array(await dump.arrayBuffer())));
        return dump;
      } finally {
        await fresh.close();
      }
    }
    return new Blob([await readFile(templateTarball)]);
  })();
  return tarball;
}

function initdbFolder(): Promise<string> {
  folder ??= (async () => {
    if (!existsSync(join(templateFolder, 'PG_VERSION'))) {
      const loadDataDir = await initdbTarball();
      await publish(templateFolder, async (partial) => {
        const fresh = await PGlite.create({ ...(await pgliteRuntime()), startParams, dataDir: partial, loadDataDir });
        await fresh.close();
      });
    }
    return templateFolder;
  })();
  return folder;
}

/** A database's folder appears whole or not at all: a start stopped halfway through the copy leaves no half database behind. */
async function copyTemplate(template: string, dataDir: string): Promise<void> {
  await mkdir(dirname(dataDir), { recursive: true });
  const partial = `${dataDir}.${process.pid}.partial`;
  await rm(partial, { recursive: true, force: true });
  await copyFolder(template, partial);
  await rename(partial, dataDir).catch(async (error: unknown) => {
    await rm(partial, { recursive: true, force: true });
    throw error;
  });
}

/**
 * The template's thousand files, every one copied at once. Node's `cp` checks
 * each file and each folder on the main thread before it copies (three times
 * the main thread's time of this, for five databases started together); a
 * file system that can clone a file (btrfs, XFS, APFS) clones it.
 */
async function copyFolder(from: string, to: string): Promise<void> {
  const entries = await readdir(from, { recursive: true, withFileTypes: true });
  const inside = (entry: (typeof entries)[number]) => join(entry.parentPath, entry.name).slice(from.length + 1);
  await mkdir(to, { recursive: true });
  for (const entry of entries) if (entry.isDirectory()) await mkdir(join(to, inside(entry)), { recursive: true });
  await Promise.all(entries.filter((entry) => entry.isFile()).map((entry) => copyFile(join(from, inside(entry)), join(to, inside(entry)), constants.COPYFILE_FICLONE)));
}

/**
 * Writes a template under a private name and renames it into place, so a
 * concurrent process never reads half of one; a process that loses the race
 * to another keeps the other's.
 */
async function publish(path: string, write: (partial: string) => Promise<void>): Promise<void> {
  const partial = `${path}.${process.pid}.partial`;
  await rm(partial, { recursive: true, force: true });
  await write(partial);
  await rename(partial, path).catch(async (error: unknown) => {
    await rm(partial, { recursive: true, force: true });
    if (!existsSync(path)) throw error;
  });
}
