import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configOnFreePorts } from './fixtures/config-files.js';

// `npm start` says what it is doing while it starts, one line a step, before its banner; the banner's figure
// counts from the start of the process, module loading included. Cold (an empty data folder), then warm (the
// same folder again). Nothing here is timed by the test: the child stamps its own lines
// (test/fixtures/stamp-lines.mjs), so a busy machine changes no outcome.

const folder = mkdtempSync(join(tmpdir(), 'geofed-start-progress-'));
const dataDir = join(folder, 'data');
/** Each start's process writes the modules it loaded here (test/fixtures/module-recorder.mjs), a file per pid. */
const records = join(folder, 'modules');
let config: string;
/** A safety net for a start that hangs, not a duration under test. */
const deadlineMs = 240_000;
const children: ChildProcess[] = [];

interface Start {
  /** The lines before the banner that are neither JSON logs nor stamps. */
  readonly steps: readonly string[];
  /** The banner's figure, in seconds. */
  readonly bannerSeconds: number;
  /** By the child's clock, from its preload to the console.log of its banner. */
  readonly preloadToBannerMs: number;
  readonly exitCode: number | null;
  /** Everything it printed, for a failure to show. */
  readonly output: string;
  /** The URLs of the modules it had loaded by its exit. */
  readonly modules: readonly string[];
}

/** A start that could not listen: another process took a port between configOnFreePorts and the listen. */
class PortTaken extends Error {}

/** Runs the start entry on the suite's data folder with its progress asked for (LOG_LEVEL=info) until its banner ends, then SIGINT. */
async function start(): Promise<Start> {
  // A database URL from the suite's environment would put a database on PostgreSQL: these starts are on PGlite.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^GEOFED_.*DATABASE_URL/.test(name)));
  const child = spawn(process.execPath, ['--import', resolve('test/fixtures/stamp-lines.mjs'), '--import', resolve('test/fixtures/module-recorder.mjs'), '--import', 'tsx', 'dev/start.ts'], {
    env: { ...env, GEOFED_CONFIG: config, GEOFED_DATA_DIR: dataDir, LOG_LEVEL: 'info', GEOFED_AUDIT_LOG: 'silent', GEOFED_MODULE_RECORD_DIR: records },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
  const steps: string[] = [];
  let preloaded: number | undefined;
  let logged: number | undefined;
  let banner: { seconds: number; loggedAt: number } | undefined;
  for await (const line of createInterface({ input: child.stdout! })) {
    output += `${line}\n`;
    const stamp = /^@(preloaded|logged) (\d+)$/.exec(line);
    const ready = /geofed is ready in ([\d.]+)s/.exec(line);
    if (stamp) {
      if (stamp[1] === 'preloaded') preloaded = Number(stamp[2]);
      else logged = Number(stamp[2]);
    } else if (ready) banner = { seconds: Number(ready[1]), loggedAt: logged! };
    else if (!banner && line.trim() !== '' && !line.startsWith('{')) steps.push(line);
    if (line.includes('Ctrl-C stops everything.')) break;
  }
  clearTimeout(deadline);
  if (!banner || preloaded === undefined) {
    const exit = await exited;
    throw output.includes('EADDRINUSE') ? new PortTaken(output) : new Error(`npm start printed no banner (exit ${exit}):\n${output}`);
  }
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.kill('SIGINT');
  const exitCode = await exited;
  const modules = readFileSync(join(records, `${child.pid}.txt`), 'utf8').split('\n').filter(Boolean);
  return { steps, bannerSeconds: banner.seconds, preloadToBannerMs: banner.loggedAt - preloaded, exitCode, output, modules };
}

const packagesIn = (modules: readonly string[], names: readonly string[]) => names.filter((name) => modules.some((url) => url.includes(`/node_modules/${name}/`)));

/** start(), on other free ports when a port was taken meanwhile (a busy machine runs other suites beside this one). */
async function startOnFreePorts(): Promise<Start> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await start();
    } catch (error) {
      if (!(error instanceof PortTaken) || attempt === 3) throw error;
      rmSync(dirname(config), { recursive: true, force: true });
      config = await configOnFreePorts();
    }
  }
}

/** The banner counts from the process start: at least what the child's own clock saw from before its entry loaded. */
function expectBannerFromProcessStart({ bannerSeconds, preloadToBannerMs }: Start): void {
  // Printed with one decimal: a tenth of a second is its precision. A timer started once the modules had loaded
  // would be short by their loading, well over that.
  expect(bannerSeconds + 0.1).toBeGreaterThanOrEqual(preloadToBannerMs / 1_000);
}

beforeAll(async () => {
  config = await configOnFreePorts();
});

afterAll(async () => {
  await Promise.all(children.filter((child) => child.exitCode === null && child.signalCode === null).map((child) => new Promise((done) => child.once('exit', done).kill('SIGKILL'))));
  rmSync(folder, { recursive: true, force: true });
  rmSync(dirname(config), { recursive: true, force: true });
});

describe('npm start progress', () => {
  it('says what it creates, migrates, seeds and starts on an empty data folder, then exits 0 on SIGINT', { timeout: deadlineMs + 30_000 }, async () => {
    const cold = await startOnFreePorts();
    expect(cold.steps, cold.output).toEqual([
      'creating PGlite databases (catalog, us, eu, apac, latam)…',
      'migrating and seeding catalog, users and orders (us, eu, apac, latam)…',
      'starting 12 subgraphs (catalog, users, orders in us, eu, apac, latam)…',
      'starting the gateway…',
    ]);
    expectBannerFromProcessStart(cold);
    expect(cold.exitCode, cold.output).toBe(0);
  });

  it('opens the databases it created on the next start', { timeout: deadlineMs + 30_000 }, async () => {
    const warm = await startOnFreePorts();
    expect(warm.steps, warm.output).toEqual([
      'opening PGlite databases (catalog, us, eu, apac, latam)…',
      'migrating and seeding catalog, users and orders (us, eu, apac, latam)…',
      'starting 12 subgraphs (catalog, users, orders in us, eu, apac, latam)…',
      'starting the gateway…',
    ]);
    expectBannerFromProcessStart(warm);
    expect(warm.exitCode, warm.output).toBe(0);
    // On PGlite only: no PostgreSQL driver, served and stopped.
    expect(packagesIn(warm.modules, ['@electric-sql/pglite', 'postgres'])).toEqual(['@electric-sql/pglite']);
  });

  it('prints its usage for --help and exits 0, loading neither a database nor a server', async () => {
    const helpRecords = join(folder, 'help-modules');
    const child = spawn('npm', ['start', '-s', '--', '--help'], {
      env: { ...process.env, GEOFED_MODULE_RECORD_DIR: helpRecords, NODE_OPTIONS: `--import=${resolve('test/fixtures/module-recorder.mjs')}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let output = '';
    for (const stream of [child.stdout!, child.stderr!]) stream.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((done) => child.once('exit', (exitCode) => done(exitCode)));
    expect({ code, output }).toEqual({ code: 0, output: expect.stringMatching(/^usage: npm start \[-- --memory\] \[-- --regions\]\n[\s\S]*--memory[\s\S]*--regions/) });
    // npm's own process records its modules too: the start entry's process is the one that loaded dev/start.ts.
    const [modules, ...others] = readdirSync(helpRecords)
      .map((file) => readFileSync(join(helpRecords, file), 'utf8').split('\n'))
      .filter((loaded) => loaded.some((url) => url.endsWith('/dev/start.ts')));
    expect(others).toEqual([]);
    expect(packagesIn(modules!, ['@electric-sql/pglite', 'postgres', '@apollo/gateway', '@apollo/subgraph'])).toEqual([]);
  });
});
