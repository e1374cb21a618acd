import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../gateway/config.js';
import { gatewayEnv } from '../gateway/env.js';
import { startGateway, type RunningGateway } from '../gateway/gateway.js';
import { postGraphQL } from './fixtures/stack.js';

// A new user's mistakes, as they see them: each command run as its own process answers with one message that
// names the argument, key or file and says what to do, an exit code, and never a stack trace; a refused CORS
// preflight and an operation over a limit say why, and which setting of supergraph.yaml changes it.
const run = promisify(execFile);

interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `node --import tsx <script> …args` in the repository, as `npm run` and `npx geofed` run it. */
async function spawn(script: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', script, ...args], { env: { ...process.env, LOG_LEVEL: 'warn', PORT: '0', ...env }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number | null; signal: string | null; stdout: string; stderr: string };
    if (failed.code === null) throw new Error(`${script} ${args.join(' ')} did not exit (${failed.signal}); stderr: ${failed.stderr}`);
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const geofed = (args: readonly string[], env?: NodeJS.ProcessEnv) => spawn('cli/geofed.ts', args, env);

/** A line of a JavaScript stack trace, as Node prints one. */
const stackFrame = /^ {4}at /m;

// A copy of the repository's config and schema files in a folder of its own, each variant of supergraph.yaml beside them.
const folder = mkdtempSync(join(tmpdir(), 'geofed-mistakes-'));
const goodConfig = readFileSync('supergraph.yaml', 'utf8');
function configFile(name: string, text: string): string {
  const file = join(folder, name);
  writeFileSync(file, text);
  return file;
}
mkdirSync(join(folder, 'schema'));
for (const file of ['catalog.graphql', 'users.graphql', 'orders.graphql', 'supergraph.graphql']) copyFileSync(join('schema', file), join(folder, 'schema', file));
const wrongSchemaPath = configFile('wrong-schema-path.yaml', goodConfig.replace('file: schema/users.graphql', 'file: schema/user.graphql'));
const badYaml = configFile('bad-yaml.yaml', goodConfig.replace('regions: [us, eu, apac, latam]', 'regions: [us, eu'));
const missingConfig = join(folder, 'no-such-config.yaml');
const missingUsersSchema = join(folder, 'schema', 'user.graphql');

afterAll(() => {
  rmSync(folder, { recursive: true, force: true });
});

describe.concurrent('command-line mistakes', { timeout: 120_000 }, () => {
  // geofed-cli.e2e.ts runs `geofed <command> --help` for each command; these are the others.
  it.each([
    ['geofed', ['--help'], 'usage: geofed <command>'],
    ['geofed pq manifest', ['pq', 'manifest', '--help'], 'usage: geofed pq manifest'],
  ])('%s --help prints its usage on stdout and exits 0', async (_label, args, usage) => {
    const { code, stdout, stderr } = await geofed(args);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toContain(usage);
  });

  it('npm run subgraph -- --help prints its usage on stdout and exits 0', async () => {
    const { code, stdout, stderr } = await spawn('subgraphs/main.ts', ['--help']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toContain('usage: npm run subgraph -- <catalog|users|orders> --region <region>');
  });

  it.each([
    ['no command', [], 'geofed: a command is required\nusage: geofed <command>'],
    ['a lifetime that is not one', ['token', '--tenant', 'acme', '--expires', '5x'], 'geofed token: --expires: "5x" is not a lifetime such as 30m, 12h or 7d'],
    ['a lifetime of zero', ['token', '--tenant', 'acme', '--expires', '0'], 'geofed token: --expires: a token that lives "0" has expired when it is printed'],
    ['no tenant', ['token', '--expires', '5x'], 'geofed token: --tenant is required (seeded: acme, globex, initech, umbrella)'],
    ['a tenant that is not seeded', ['token', '--tenant', 'nope'], 'geofed token: tenant "nope" is not seeded (seeded: acme, globex, initech, umbrella): pass one of those, or --user <id> for a tenant of your own'],
    ['an unknown option of token', ['token', '--tenant', 'acme', '--expire', '1h'], "geofed token: Unknown option '--expire'\nusage: geofed token"],
    ['an unknown option of gateway', ['gateway', '--port', '4000'], "geofed gateway: Unknown option '--port'\nusage: geofed gateway"],
    ['an option without its value', ['token', '--tenant'], "geofed token: Option '--tenant <value>' argument missing\nusage: geofed token"],
  ])('%s is a usage error: the message and the usage on stderr, exit 2', async (_label, args, message) => {
    const { code, stdout, stderr } = await geofed(args);
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toContain(message);
    expect(stderr).not.toMatch(stackFrame);
  });

  it('an unknown option is named without Node\'s advice about positionals', async () => {
    const { stderr } = await geofed(['pq', 'manifest', 'ops', '--bogus']);
    expect(stderr).toContain("geofed pq: Unknown option '--bogus'\n");
    expect(stderr).not.toContain('positional');
  });

  it.each(['compose', 'check', 'gateway'])('%s with a subgraphs.<name>.schema.file that names no file names the key and the path, exit 1', async (command) => {
    const { code, stdout, stderr } = await geofed([command], { GEOFED_CONFIG: wrongSchemaPath });
    expect(code).toBe(1);
    expect(`${stdout}${stderr}`).toContain(`subgraphs.users.schema.file: there is no file ${missingUsersSchema} (a relative path is read from the folder of ${wrongSchemaPath}): correct the path`);
    expect(stderr).not.toMatch(stackFrame);
    expect(stdout).not.toMatch(/serving/);
  });

  it('the gateway with a missing config names the file and how to name another, exit 1', async () => {
    const { code, stderr } = await geofed(['gateway'], { GEOFED_CONFIG: missingConfig });
    expect(code).toBe(1);
    expect(stderr).toContain(`${missingConfig}: cannot be read as YAML: there is no such file. Pass --config FILE or set GEOFED_CONFIG`);
    expect(stderr).not.toMatch(stackFrame);
  });

  it('compose with a YAML syntax error names the file and the line, exit 1', async () => {
    const { code, stderr } = await geofed(['compose', '--config', badYaml]);
    expect(code).toBe(1);
    expect(stderr).toContain(`${badYaml}: cannot be read as YAML:`);
    expect(stderr).toMatch(/at line \d+, column \d+/);
    expect(stderr).not.toMatch(stackFrame);
  });

  it('check --json answers a missing config in JSON, exit 1', async () => {
    const { code, stdout, stderr } = await geofed(['check', '--json', '--config', missingConfig]);
    expect({ code, stderr }).toEqual({ code: 1, stderr: '' });
    expect(JSON.parse(stdout)).toMatchObject({ ok: false, error: expect.stringContaining(`${missingConfig}: cannot be read as YAML: there is no such file`) });
  });

  it('a drop-in gateway whose --config is missing names the file, exit 1', async () => {
    const { code, stderr } = await geofed(['gateway', '--supergraph', 'schema/supergraph.graphql', '--config', missingConfig]);
    expect(code).toBe(1);
    expect(stderr).toContain(`${missingConfig}: cannot be read as YAML: there is no such file`);
    expect(stderr).not.toMatch(stackFrame);
  });

  it('compose --output into a folder that does not exist names the path, exit 1', async () => {
    const output = join(folder, 'no-such-folder', 'supergraph.graphql');
    const { code, stderr } = await geofed(['compose', '--output', output]);
    expect({ code, stderr }).toEqual({ code: 1, stderr: `geofed compose: cannot open ${output}: no such file or directory (ENOENT)\n` });
  });
});

describe('a refused CORS preflight and an operation over a limit, from a running gateway', () => {
  let gateway: RunningGateway;
  beforeAll(async () => {
    const config = loadConfig('supergraph.yaml', {});
    // Only the gateway: preflights and operation limits are answered before any subgraph is called.
    gateway = await startGateway({ config: { ...config, cors: { allowedOrigins: ['https://shop.example'] } }, env: gatewayEnv({}), host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await gateway?.stop();
  });

  const preflight = (origin?: string) =>
    fetch(`${gateway.url}/graphql`, { method: 'OPTIONS', headers: { ...(origin === undefined ? {} : { origin }), 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
  const refusalOf = async (response: Response) => ({ status: response.status, type: response.headers.get('content-type'), allowOrigin: response.headers.get('access-control-allow-origin'), body: (await response.json()) as unknown });

  it('answers an origin not allowed with 403 CORS_ORIGIN_REFUSED, naming the origin and cors.allowed_origins', async () => {
    expect(await refusalOf(await preflight('http://localhost:5173'))).toEqual({
      status: 403,
      type: 'application/json; charset=utf-8',
      allowOrigin: null,
      body: { errors: [{ message: "CORS preflight refused: origin http://localhost:5173 is not allowed. Add it to cors.allowed_origins in the gateway's supergraph.yaml.", extensions: { code: 'CORS_ORIGIN_REFUSED' } }] },
    });
  });

  it('never repeats an Origin that is not a valid http(s) origin', async () => {
    for (const origin of ['https://shop.example/<img src=x onerror=alert(1)>', `https://${'a'.repeat(400)}.example`, 'https://shop.example.evil.example/']) {
      const { status, body } = await refusalOf(await preflight(origin));
      expect(status).toBe(403);
      const text = JSON.stringify(body);
      expect(text).not.toContain(origin);
      expect(text).toContain('the Origin header is not an http(s) origin such as https://app.example.com (not repeated here)');
      expect(text).toContain('CORS_ORIGIN_REFUSED');
    }
  });

  it('says why a preflight without an Origin is refused', async () => {
    const { status, body } = await refusalOf(await preflight());
    expect(status).toBe(403);
    expect(JSON.stringify(body)).toContain('the request has no Origin header');
  });

  it('still allows a listed origin', async () => {
    const response = await preflight('https://shop.example');
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('https://shop.example');
  });

  it.each([
    ['depth 7', '{ me { orders { user { orders { items { product { id } } } } } } }', 'Query depth limit of 6 exceeded, found 7: simplify the operation, or raise limits.max_depth in the gateway\'s supergraph.yaml.'],
    ['16 aliases', `{ ${Array.from({ length: 16 }, (_, i) => `a${i}: products(first: 1) { id }`).join(' ')} }`, 'Aliases limit of 15 exceeded, found 16: simplify the operation, or raise limits.max_aliases in the gateway\'s supergraph.yaml.'],
    ['51 directives', `{ products(first: 1) { id ${'@include(if: true) '.repeat(51)} } }`, 'Directives limit of 50 exceeded, found 51: simplify the operation, or raise limits.max_directives in the gateway\'s supergraph.yaml.'],
  ])('refuses %s with 400, a message that is not a "Syntax Error" and names the setting', async (_label, query, message) => {
    const result = await postGraphQL(`${gateway.url}/graphql`, query);
    expect(result.status).toBe(400);
    // graphql-js adds its own errors for 51 directives (@include repeated); the limit's comes first.
    expect(result.body.errors?.[0]).toEqual({ message, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
    expect(JSON.stringify(result.body)).not.toContain('Syntax Error');
  });
});
