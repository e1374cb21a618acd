import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';

// The package exports no package.json; its entry lives in dist/, one level below it.
const pgliteEntry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
const pgliteVersion = (JSON.parse(readFileSync(join(dirname(pgliteEntry), '..', 'package.json'), 'utf8')) as { version: string }).version;
const templatePath = join(tmpdir(), 'geofed', `pglite-${pgliteVersion}-initdb.tar.gz`);
let template: Promise<Blob> | undefined;

/**
 * Opens a PGlite database in memory (no `dataDir`) or in a folder. A new
 * database is loaded from a dump of a freshly initialised cluster instead of
 * running initdb again: initdb costs seconds per instance, loading a dump well
 * under one. The dump is cached on disk per PGlite version and shared by every
 * process on the machine.
 */
export async function openPglite(dataDir?: string): Promise<PGlite> {
  if (dataDir !== undefined && existsSync(join(dataDir, 'PG_VERSION'))) {
    return PGlite.create({ dataDir });
  }
  if (dataDir !== undefined) await mkdir(dataDir, { recursive: true });
  return PGlite.create({ ...(dataDir === undefined ? {} : { dataDir }), loadDataDir: await initdbTemplate() });
}

function initdbTemplate(): Promise<Blob> {
  template ??= loadOrCreateTemplate();
  return template;
}

async function loadOrCreateTemplate(): Promise<Blob> {
  if (existsSync(templatePath)) {
    return new Blob([await readFile(templatePath)]);
  }
  const fresh = await PGlite.create();
  try {
    const dump = await fresh.dumpDataDir('gzip');
    await mkdir(join(tmpdir(), 'geofed'), { recursive: true });
    // Written under a private name and renamed, so a concurrent process never reads half a file.
    const partial = `${templatePath}.${process.pid}.partial`;
    await writeFile(partial, new Uint8Array(await dump.arrayBuffer()));
    await rename(partial, templatePath);
    return dump;
  } finally {
    await fresh.close();
  }
}
