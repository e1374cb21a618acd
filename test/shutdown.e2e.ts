import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedHeaders, systemCaller } from '../protocol/signed-context.js';
import { configOnFreePorts } from './fixtures/config-files.js';
import { writeGatewayConfig } from './fixtures/gateway-process.js';
import { holdRequest } from './fixtures/held-requests.js';
import { createTestDatabases, type TestDatabases } from './fixtures/postgres.js';
import { startTestStack, type TestStack } from './fixtures/stack.js';
import { waitFor } from './fixtures/wait.js';

// Ctrl-C (SIGINT to the process group) and SIGTERM to the server process drain each deployable as `npm` runs it:
// the listener closes, every request in flight is answered, then the server exits 0. Each request is held in
// flight by the test itself: the server has read its headers (it answered 100 Continue) and waits for the body,
// which is sent only once the server has logged that it is waiting for those 20 requests. (npm itself, signalled
// with its group, re-raises the signal once its script has exited; a SIGTERM sent to npm alone is not passed on,
// so an orchestrator signals the server process, or runs it without npm.)

const inFlight = 20;
const productsQuery = JSON.stringify({ query: '{ products(first: 2) { id } }' });

interface Command {
  /** npm, the leader of the command's process group. */
  readonly child: ChildProcess;
  readonly url: string;
  output(): string;
  exited: Promise<number | null>;
}

/** Runs an npm script in a process group of its own and resolves once `ready` matches its output (capturing the URL). */
async function npm(args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<Command> {
  const child = spawn('npm', ['run', '-s', ...args], { env: { ...process.env, LOG_LEVEL: 'info', GEOFED_AUDIT_LOG: 'silent', ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  running.push(child);
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const collect = (chunk: Buffer) => {
      out += chunk.toString();
      const match = ready.exec(out);
      if (match) resolve(match[1]!);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    void exited.then((code) => reject(new Error(`npm ${args.join(' ')} exited with ${code} before it was ready:\n${out}`)));
  });
  return { child, url, output: () => out, exited };
}

/** Holds 20 requests in flight, signals, waits for the drain to be under way, then completes them. */
async function drainsUnder(command: Command, signal: () => void, headers: (body: string) => Record<string, string> = () => ({})) {
  const held = await Promise.all(Array.from({ length: inFlight }, () => holdRequest(command.url, productsQuery, headers(productsQuery))));
  signal();
  await waitFor(() => command.output(), { until: (out) => new RegExp(`"in_flight":${inFlight},.*waiting for in-flight requests`).test(out), timeoutMs: 20_000, what: 'the drain waiting for the held requests' });
  const answers = await Promise.all(held.map((request) => request.finish()));
  const exitCode = await command.exited;
  await waitFor(() => command.output(), { until: (out) => /drained and stopped|shutdown failed|did not finish/.test(out), what: 'the server\'s last log line' });
  return { answers, exitCode, output: command.output() };
}

/** The server npm started (npm → sh → node, or npm → node): the deepest descendant of npm. */
function serverPid(npmPid: number): number {
  let pid = npmPid;
  for (;;) {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    if (children.length === 0) return pid;
    pid = children[0]!;
  }
}

const running: ChildProcess[] = [];
afterAll(() => {
  for (const child of running) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // The group has exited already.
    }
  }
});

/**
 * `npm start -- --memory` on free ports, on other ones when a port was taken between configOnFreePorts and the
 * listen (its servers start over several seconds, and a busy machine runs other suites beside this one).
 */
async function npmStartOnFreePorts(): Promise<Command> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await npm(['start', '--', '--memory'], { GEOFED_CONFIG: await configOnFreePorts() }, /^ {2}\S+ +(http:\/\/127\.0\.0\.1:\d+\/graphql)$/m);
    } catch (error) {
      if (attempt === 3 || !String(error).includes('EADDRINUSE')) throw error;
    }
  }
}

describe('npm start', () => {
  it('drains 20 in-flight requests on Ctrl-C (SIGINT to the group) and exits 0', async () => {
    const command = await npmStartOnFreePorts();
    await waitFor(() => command.output(), { until: (out) => out.includes('Ctrl-C stops everything.'), what: 'the banner' });
    const { answers, output } = await drainsUnder(command, () => process.kill(-command.child.pid!, 'SIGINT'));
    expect(answers.map((a) => a.status)).toEqual(Array(inFlight).fill(200));
    expect(answers.map((a) => (a.body as { data: unknown }).data)).toEqual(Array(inFlight).fill({ products: [{ id: 'prd_01' }, { id: 'prd_02' }] }));
    expect(output).toMatch(/"signal":"SIGINT".*draining/);
    // Logged just before the server exits 0.
    expect(output).toMatch(/drained and stopped/);
    // The whole stack starts inside the test (five in-memory PGlite databases): on a busy machine that alone can pass
    // the suite's 30 s; the drain, not the start-up time, is under test.
  }, 120_000);
});

describe('npm run gateway', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack('pglite');
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('drains 20 in-flight requests on SIGTERM to the server and exits 0', async () => {
    const command = await npm(['gateway'], { GEOFED_CONFIG: writeGatewayConfig(stack.stack, {}), PORT: '0' }, /serving (http:\/\/\S+\/graphql)/);
    const { answers, exitCode, output } = await drainsUnder(command, () => process.kill(serverPid(command.child.pid!), 'SIGTERM'));
    expect(answers.map((a) => a.status)).toEqual(Array(inFlight).fill(200));
    expect(answers.map((a) => (a.body as { data: unknown }).data)).toEqual(Array(inFlight).fill({ products: [{ id: 'prd_01' }, { id: 'prd_02' }] }));
    expect(output).toMatch(/"signal":"SIGTERM".*draining/);
    // npm exits with its script's code.
    expect(exitCode).toBe(0);
  });
});

describe('npm run subgraph', () => {
  let databases: TestDatabases;
  beforeAll(async () => {
    databases = await createTestDatabases(['catalog']);
  });
  afterAll(async () => {
    await databases?.drop();
  });

  it('drains 20 in-flight requests on Ctrl-C (SIGINT to the group) and exits 0', async () => {
    const secret = 'shutdown-suite-subgraph-secret-0123456789';
    const command = await npm(['subgraph', '--', 'catalog', '--region', 'us'], { GEOFED_CATALOG_DATABASE_URL: databases.urls.catalog, GEOFED_SUBGRAPH_SECRET: secret, PORT: '0' }, /serving (http:\/\/\S+\/graphql)/);
    const sign = (body: string) => signedHeaders(secret, { method: 'POST', url: command.url, body }, systemCaller);
    const { answers, output } = await drainsUnder(command, () => process.kill(-command.child.pid!, 'SIGINT'), sign);
    expect(answers.map((a) => a.status)).toEqual(Array(inFlight).fill(200));
    expect(answers.map((a) => (a.body as { data: unknown }).data)).toEqual(Array(inFlight).fill({ products: [{ id: 'prd_01' }, { id: 'prd_02' }] }));
    expect(output).toMatch(/drained and stopped/);
  });
});
