import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startDemoGraph, type DemoGraph } from './fixtures/demo-graph.js';
import { postGraphQL } from './fixtures/stack.js';

// A Rover supergraph.yaml works unchanged: `geofed compose` composes it as `rover supergraph compose`
// would (SDL from files and from a running subgraph's `_service { sdl }`), and `geofed gateway --config`
// serves it, each subgraph at its routing_url, in one region.
const run = promisify(execFile);
const folder = mkdtempSync(join(tmpdir(), 'geofed-rover-'));
const roverFile = join(folder, 'supergraph.yaml');
let graph: DemoGraph;
let child: ChildProcess | undefined;

beforeAll(async () => {
  graph = await startDemoGraph();
  const subgraphs = Object.fromEntries(
    graph.subgraphs.map(({ name, url, typeDefs }, index) => {
      // Half from files, half introspected: Rover's two local schema sources.
      if (index % 2 === 1) return [name, { routing_url: url, schema: { subgraph_url: url } }];
      writeFileSync(join(folder, `${name}.graphql`), typeDefs);
      return [name, { routing_url: url, schema: { file: `./${name}.graphql` } }];
    }),
  );
  writeFileSync(roverFile, stringify({ federation_version: '=2.9.0', subgraphs }));
});
afterAll(async () => {
  child?.kill('SIGTERM');
  await graph?.stop();
});

describe('a Rover supergraph.yaml', () => {
  it('composes with `geofed compose` into what Apollo composition gives', async () => {
    const output = join(folder, 'supergraph.graphql');
    await run(process.execPath, ['--import', 'tsx', 'cli/geofed.ts', 'compose', '--config', roverFile, '--output', output]);
    expect(readFileSync(output, 'utf8')).toBe(`${graph.supergraphSdl}\n`);
  });

  it('is served by `geofed gateway --config`', async () => {
    child = spawn(process.execPath, ['--import', 'tsx', 'cli/geofed.ts', 'gateway', '--config', roverFile], {
      env: { ...process.env, PORT: '0', LOG_LEVEL: 'warn', GEOFED_AUDIT_LOG: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const collect = (chunk: Buffer) => {
        out += chunk.toString();
        const match = /serving (http:\/\/\S+\/graphql)/.exec(out);
        if (match) resolve(match[1]!);
      };
      child!.stdout!.on('data', collect);
      child!.stderr!.on('data', collect);
      child!.once('exit', (code) => reject(new Error(`gateway exited with ${code}: ${out}`)));
    });
    const result = await postGraphQL(url, '{ me { name username reviews { body product { name inStock } } } }');
    expect(result.body.errors).toBeUndefined();
    expect(result.body.data).toEqual({ me: { name: 'Ada Lovelace', username: '@ada', reviews: expect.arrayContaining([expect.objectContaining({ product: expect.objectContaining({ name: expect.any(String) }) })]) } });
    expect(result.headers.get('x-geofed-gateway-region')).toBe('default');
  });
});

describe('geofed compose on the repository', () => {
  it('writes exactly the committed supergraph (the golden file)', async () => {
    const output = join(folder, 'geofed-supergraph.graphql');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'cli/geofed.ts', 'compose', '--output', output]);
    expect(stdout).toContain('(catalog, users, orders)');
    expect(readFileSync(output, 'utf8')).toBe(readFileSync('schema/supergraph.graphql', 'utf8'));
  });
});
