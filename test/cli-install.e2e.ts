import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeSupergraph } from '../gateway/compose.js';
import { loadConfig } from '../gateway/config.js';
import { gatewayEnv } from '../gateway/env.js';
import { tokenVerifier } from '../gateway/tokens.js';
import { checkSchema } from '../schema/check.js';
import { relayOutput } from './fixtures/child-output.js';
import { createTestDatabases, type TestDatabases } from './fixtures/postgres.js';
import { usGatewayConfigFetchingEu } from './fixtures/config-files.js';
import { devToken, postGraphQL } from './fixtures/stack.js';

// Issue 18, "A CLI that runs from an install": the package as npm pack makes it (prepack builds dist/), installed
// without dev dependencies into a project of its own, runs every command from compiled JavaScript: no tsx, no
// TypeScript. Slow by nature: packing compiles the whole package and installing resolves some 300 packages (from
// this machine's npm cache, the registry for anything missing), about a minute and a half on an idle 2-core
// machine, hence the long timeout of the set-up.
const run = promisify(execFile);
const installTimeout = 10 * 60_000;
const workDir = mkdtempSync(join(tmpdir(), 'geofed-install-'));
const project = join(workDir, 'project');
const installedPackage = join(project, 'node_modules', 'geofed');
const installedBin = join(project, 'node_modules', '.bin', 'geofed');
const children: ChildProcess[] = [];
let databases: TestDatabases | undefined;

/** The test's environment without the `npm_*` variables of an outer `npm test`: a nested npm reads them as its own config. */
function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('npm_'))), LOG_LEVEL: 'silent', ...extra };
}

async function exitOf(command: string, args: string[], cwd = project): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(command, args, { cwd, env: userEnv(), maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** The command names a `--help` lists, one a line. */
const commandsOf = (help: string) => [...help.matchAll(/^ {2}(\w+) /gm)].map(([, name]) => name);

/** A long-running process of the installed package; resolves to the URL it prints once it serves. */
function serveFromInstall(name: string, command: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const child = spawn(command, args, { cwd: project, env: userEnv({ LOG_LEVEL: 'warn', GEOFED_AUDIT_LOG: 'silent', PORT: '0', ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  relayOutput(child, name);
  return new Promise((resolveUrl, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /serving (http:\/\/\S+?)(\/graphql)?\s/.exec(out);
      if (match) resolveUrl(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}: ${out}`)));
  });
}

async function stopChildren(): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          child.once('exit', () => done());
          child.kill('SIGTERM');
        }),
    ),
  );
}

beforeAll(async () => {
  await run('npm', ['pack', '--silent', '--pack-destination', workDir], { env: userEnv(), maxBuffer: 64 * 1024 * 1024 });
  const tarball = readdirSync(workDir).find((file) => file.endsWith('.tgz'));
  if (tarball === undefined) throw new Error(`npm pack wrote no tarball into ${workDir}`);
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'geofed-install-check', private: true }));
  await run('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', join(workDir, tarball)], { cwd: project, env: userEnv(), maxBuffer: 64 * 1024 * 1024 });
}, installTimeout);

afterAll(async () => {
  await stopChildren();
  await databases?.drop();
  rmSync(workDir, { recursive: true, force: true });
});

describe('geofed installed from its tarball', () => {
  it('npx geofed --help lists every command of the CLI, one line each', async () => {
    const installed = await exitOf('npx', ['geofed', '--help']);
    const checkout = await exitOf(process.execPath, ['cli/geofed.mjs', '--help'], resolve('.'));
    expect(installed).toEqual({ code: 0, stdout: checkout.stdout, stderr: '' });
    expect(commandsOf(installed.stdout)).toEqual(expect.arrayContaining(['gateway', 'compose', 'check', 'probe', 'rollout', 'token', 'events', 'pq']));
  });

  it('an unknown command is a usage message with exit code 2', async () => {
    const { code, stdout, stderr } = await exitOf(installedBin, ['nope']);
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toMatch(/^geofed: unknown command "nope"\nusage: geofed <command>/);
  });

  it('ships compiled JavaScript, and neither tsx nor TypeScript is installed', async () => {
    const shipped = readdirSync(installedPackage, { recursive: true, encoding: 'utf8' });
    expect(shipped).toContain(join('dist', 'cli', 'geofed.js'));
    expect(shipped.filter((file) => file.endsWith('.ts'))).toEqual([]);
    expect(readFileSync(join(installedPackage, 'dist', 'cli', 'geofed.js'), 'utf8')).toMatch(/^#!\/usr\/bin\/env -S node --max-semi-space-size=32\n/);
    expect(readFileSync(join(installedPackage, 'LICENSE'), 'utf8')).toContain('Apache License\n                           Version 2.0, January 2004');
    const { stdout } = await run('npm', ['ls', '--all', '--parseable'], { cwd: project, env: userEnv(), maxBuffer: 64 * 1024 * 1024 });
    const installedPackages = stdout.split('\n').filter(Boolean).map((path) => basename(path));
    expect(installedPackages).toContain('geofed');
    expect(installedPackages.filter((name) => name === 'tsx' || name === 'typescript')).toEqual([]);
  });

  it('token prints a dev token the gateway accepts', async () => {
    const { code, stdout, stderr } = await exitOf(installedBin, ['token', '--tenant', 'acme']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(await tokenVerifier({ maxTokenLifetimeSeconds: 86_400 }, gatewayEnv({}))(stdout.trim())).toEqual({ tenantId: 'acme', userId: 'usr_acme_1', roles: [] });
  });

  it('compose writes the supergraph the sources compose', async () => {
    const { code, stdout, stderr } = await exitOf(installedBin, ['compose', '--config', resolve('supergraph.yaml'), '--output', '-']);
    const fromSources = await composeSupergraph(loadConfig('supergraph.yaml'));
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(fromSources.ok && stdout === fromSources.supergraphSdl).toBe(true);
  });

  it('check reports what the sources report', async () => {
    const base = resolve('schema/supergraph.graphql');
    const { stdout } = await exitOf(installedBin, ['check', '--json', '--base', base], resolve('.'));
    const fromSources = await checkSchema({ base, allowBreaking: false });
    expect(JSON.parse(stdout)).toEqual(JSON.parse(JSON.stringify(fromSources)));
    expect(fromSources.steps.find((step) => step.name === 'composition')).toMatchObject({ ok: true });
  });

  it(
    'the installed gateway serves a query through subgraphs run from the package, and its landing page',
    async () => {
      databases = await createTestDatabases(['catalog', 'eu']);
      const subgraphEnv = { GEOFED_CATALOG_DATABASE_URL: databases.urls.catalog, GEOFED_DATABASE_URL_EU: databases.urls.eu };
      // The subgraphs migrate their databases and read their SDL from dist/, where the build copied them.
      const subgraphMain = join(installedPackage, 'dist', 'subgraphs', 'main.js');
      const [catalogUrl, usersUrl] = await Promise.all([
        serveFromInstall('catalog', process.execPath, [subgraphMain, 'catalog', '--region', 'us'], subgraphEnv),
        serveFromInstall('users', process.execPath, [subgraphMain, 'users', '--region', 'eu'], subgraphEnv),
      ]);
      const config = usGatewayConfigFetchingEu(workDir, { catalogUrl, usersUrl });
      const gatewayUrl = await serveFromInstall('gateway', installedBin, ['gateway'], { GEOFED_CONFIG: config });

      const served = await postGraphQL(`${gatewayUrl}/graphql`, /* GraphQL */ '{ me { name } }', { token: await devToken('acme', 'usr_acme_1') });
      expect(served).toMatchObject({ status: 200, body: { data: { me: { name: 'Ada Lovelace' } } } });
      expect(served.body.errors).toBeUndefined();

      // GraphiQL's files come from the installed graphiql, react and react-dom packages.
      const page = await fetch(`${gatewayUrl}/graphql`, { headers: { accept: 'text/html' } });
      expect(page.status).toBe(200);
      const assets = [...(await page.text()).matchAll(/(?:src|href)="([^"]+)"/g)].map(([, path]) => new URL(path!, page.url).href);
      expect(assets.length).toBeGreaterThan(0);
      for (const asset of assets) expect({ asset, status: (await fetch(asset)).status }).toEqual({ asset, status: 200 });
    },
    120_000,
  );
});
