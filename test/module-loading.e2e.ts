import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabases, type TestDatabases } from './fixtures/postgres.js';
import { usGatewayConfigFetchingEu } from './fixtures/config-files.js';
import { devToken, postGraphQL } from './fixtures/stack.js';

// Each deployable loads only its own side: `npm run subgraph` no gateway code and no @apollo/gateway,
// `npm run gateway` no database driver. Every process records the modules it loaded until it exits
// (test/fixtures/module-recorder.mjs), after it has served a request, so lazy imports count.
const records = mkdtempSync(join(tmpdir(), 'geofed-modules-'));
const repo = pathToFileURL(resolve('.')).href;
const children: ChildProcess[] = [];

function npmRun(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const child = spawn('npm', ['run', '-s', ...args], {
    env: { ...process.env, ...env, LOG_LEVEL: 'warn', GEOFED_AUDIT_LOG: 'silent', GEOFED_MODULE_RECORD_DIR: records, NODE_OPTIONS: `--import=${resolve('test/fixtures/module-recorder.mjs')}` },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  children.push(child);
  return new Promise((resolveUrl, reject) => {
    let out = '';
    const collect = (chunk: Buffer) => {
      out += chunk.toString();
      const match = /serving (http:\/\/\S+?)(\/graphql)?\s/.exec(out);
      if (match) resolveUrl(match[1]!);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    child.once('exit', (code) => reject(new Error(`npm run ${args.join(' ')} exited with ${code}: ${out}`)));
  });
}

/** SIGTERM to each process group (npm, tsx and node), then waits until every process has exited. */
async function stopAll(): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          child.once('exit', () => done());
          process.kill(-child.pid!, 'SIGTERM');
        }),
    ),
  );
}

/** The modules of the process that ran `entry` (npm and tsx's own wrapper processes load it not). */
function modulesOf(entry: string): string[][] {
  return readdirSync(records)
    .map((file) => [...new Set(readFileSync(join(records, file), 'utf8').split('\n').filter(Boolean))])
    .filter((modules) => modules.includes(`${repo}/${entry}`));
}

const repoModules = (modules: string[]) => modules.filter((url) => url.startsWith(`${repo}/`) && !url.includes('/node_modules/')).map((url) => url.slice(repo.length + 1));
const packagesIn = (modules: string[], names: string[]) => names.filter((name) => modules.some((url) => url.includes(`/node_modules/${name}/`)));

let databases: TestDatabases;

beforeAll(async () => {
  databases = await createTestDatabases(['catalog', 'eu']);
  const subgraphEnv = { GEOFED_CATALOG_DATABASE_URL: databases.urls.catalog, GEOFED_DATABASE_URL_EU: databases.urls.eu, PORT: '0' };
  const [catalogUrl, usersUrl] = await Promise.all([
    npmRun(['subgraph', '--', 'catalog', '--region', 'us'], subgraphEnv),
    npmRun(['subgraph', '--', 'users', '--region', 'eu'], subgraphEnv),
  ]);
  const config = usGatewayConfigFetchingEu(records, { catalogUrl, usersUrl });
  const gatewayUrl = await npmRun(['gateway'], { GEOFED_CONFIG: config, PORT: '0' });
  const served = await postGraphQL(`${gatewayUrl}/graphql`, '{ me { name } }', { token: await devToken('acme', 'usr_acme_1') });
  expect(served.body).toMatchObject({ data: { me: { name: 'Ada Lovelace' } } });
  await stopAll();
});
afterAll(async () => {
  await stopAll();
  await databases?.drop();
});

describe('what each deployable loads', () => {
  it('a subgraph loads no gateway, plugin or schema code and no @apollo/gateway', () => {
    const processes = modulesOf('subgraphs/main.ts');
    expect(processes).toHaveLength(2);
    for (const modules of processes) {
      const own = repoModules(modules);
      console.log(`npm run subgraph: ${modules.length} modules, ${own.length} of the repository`);
      expect(own.filter((path) => !/^(subgraphs|protocol|runtime)\//.test(path))).toEqual([]);
      expect(packagesIn(modules, ['@apollo/gateway', '@apollo/composition', '@apollo/query-planner'])).toEqual([]);
    }
  });

  it('the gateway loads no subgraph or dev-runner code and no database driver', () => {
    const [modules, ...others] = modulesOf('gateway/gateway.ts');
    expect(others).toEqual([]);
    const own = repoModules(modules!);
    console.log(`npm run gateway: ${modules!.length} modules, ${own.length} of the repository`);
    expect(own.filter((path) => /^(subgraphs|dev)\//.test(path))).toEqual([]);
    expect(packagesIn(modules!, ['drizzle-orm', 'postgres', '@electric-sql/pglite', 'dataloader'])).toEqual([]);
  });
});
