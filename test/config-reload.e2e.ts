import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { loadConfig } from '../gateway/config.js';
import { gatewayEnv } from '../gateway/env.js';
import { startGateway, type RunningGateway } from '../gateway/gateway.js';
import { buildManifest } from '../plugins/persisted-queries/manifest.js';
import { copyLogLines } from '../runtime/logger.js';
import { writeGatewayConfig } from './fixtures/gateway-process.js';
import { devToken, postGraphQL, startTestStack, type TestStack } from './fixtures/stack.js';
import { waitFor } from './fixtures/wait.js';

// Hot reload applies what it reads: an edit of any key of supergraph.yaml (here limits, CORS, persisted queries
// and the manifest file) serves the next request; a key read only at start (a port) is kept, with a log line that
// names it; a bad config and SDL that does not compose are refused as what they are, and the error is forgotten
// once a later reload succeeds.

let t: TestStack;
let gateway: RunningGateway;
let configPath: string;
const folder = mkdtempSync(join(tmpdir(), 'geofed-config-reload-'));
const manifestPath = join(folder, 'manifest.json');
const deepQuery = '{ me { orders { items { product { name } } } } }';
const listedQuery = 'query Listed { products(first: 1) { id } }';
const laterQuery = 'query Later { products(first: 2) { id } }';

type ConfigFile = Record<string, Record<string, unknown>>;
const readConfig = () => parse(readFileSync(configPath, 'utf8')) as ConfigFile;
const writeConfig = (file: unknown) => writeFileSync(configPath, typeof file === 'string' ? file : stringify(file));
const editConfig = (change: (file: ConfigFile) => void) => {
  const file = readConfig();
  change(file);
  writeConfig(file);
};

beforeAll(async () => {
  t = await startTestStack('pglite');
  configPath = writeGatewayConfig(t.stack, {});
  // Composed from SDL files of its own, so that one can be broken without touching the repository's.
  editConfig((file) => {
    delete file.supergraph;
    for (const entry of Object.values(file.subgraphs!) as { schema: { file: string } }[]) {
      const copy = join(folder, basename(entry.schema.file));
      copyFileSync(entry.schema.file, copy);
      entry.schema = { file: copy };
    }
  });
  const load = () => loadConfig(configPath, {});
  gateway = await startGateway({ config: load(), env: gatewayEnv({}), port: 0, reloadConfig: load, watch: true });
});
afterAll(async () => {
  await gateway?.stop();
  await t?.stop();
});

const url = () => `${gateway.url}/graphql`;
/** Waits for the watcher's reload to serve a config other than `before`. */
const reloadedFrom = (before: string) => waitFor(() => gateway.supergraph().configVersion, { until: (version) => version !== before, timeoutMs: 10_000, what: 'a reload of the edited config' });

describe('a config-only reload', () => {
  it('applies a lower limits.max_depth: a query it allowed is then refused', async () => {
    const token = await devToken('acme', 'usr_acme_1');
    expect((await postGraphQL(url(), deepQuery, { token })).status).toBe(200);
    const before = gateway.supergraph().configVersion;
    editConfig((file) => {
      file.limits = { ...file.limits, max_depth: 4 };
    });
    await reloadedFrom(before);
    const refused = await postGraphQL(url(), deepQuery, { token });
    expect(refused.status).toBe(400);
    expect(refused.body.errors?.[0]?.message).toMatch(/limits\.max_depth/);
  });

  it('applies cors.allowed_origins', async () => {
    const preflight = () => fetch(url(), { method: 'OPTIONS', headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST' } });
    expect((await preflight()).status).toBe(403);
    const before = gateway.supergraph().configVersion;
    editConfig((file) => {
      file.cors = { allowed_origins: ['https://shop.example'] };
    });
    await reloadedFrom(before);
    const allowed = await preflight();
    expect([allowed.status, allowed.headers.get('access-control-allow-origin')]).toEqual([204, 'https://shop.example']);
  });

  it('applies persisted_queries, and a change of the manifest file alone', async () => {
    // A manifest lists the printed body of each operation; clients send that body (or its hash).
    const bodyOf = (name: string) => readManifest().operations.find((operation) => operation.name === name)!.body;
    const readManifest = () => JSON.parse(readFileSync(manifestPath, 'utf8')) as ReturnType<typeof buildManifest>;
    writeFileSync(manifestPath, JSON.stringify(buildManifest([{ file: 'listed.graphql', text: listedQuery }])));
    const listedBody = bodyOf('Listed');
    const before = gateway.supergraph().configVersion;
    editConfig((file) => {
      file.persisted_queries = { mode: 'safelist', manifest: manifestPath };
    });
    await reloadedFrom(before);
    expect((await postGraphQL(url(), listedBody)).status).toBe(200);
    expect((await postGraphQL(url(), laterQuery)).body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_IN_LIST');

    const withManifest = gateway.supergraph().configVersion;
    writeFileSync(manifestPath, JSON.stringify(buildManifest([{ file: 'listed.graphql', text: `${listedQuery}\n${laterQuery}` }])));
    await reloadedFrom(withManifest);
    expect((await postGraphQL(url(), bodyOf('Later'))).status).toBe(200);
    const safelisted = gateway.supergraph().configVersion;
    editConfig((file) => {
      file.persisted_queries = { mode: 'off' };
    });
    await reloadedFrom(safelisted);
    expect((await postGraphQL(url(), laterQuery)).status).toBe(200);
  });

  it('keeps what the memory store\'s budgets have spent across a reload', async () => {
    const before = gateway.supergraph().configVersion;
    editConfig((file) => {
      file.rate_limits = { ...file.rate_limits, anonymous: { capacity: 1_000, refill_per_second: 0 } };
    });
    await reloadedFrom(before);
    const remaining = async () => Number((await postGraphQL(url(), '{ products(first: 3) { id } }')).headers.get('ratelimit-remaining'));
    const first = await remaining();
    const second = await remaining();
    const cost = first - second;
    expect(cost).toBeGreaterThan(0);
    const spent = gateway.supergraph().configVersion;
    editConfig((file) => {
      file.limits = { ...file.limits, max_aliases: 40 };
    });
    await reloadedFrom(spent);
    // The same bucket goes on from where it was: a reload that reset it would answer 1000 − cost.
    expect(await remaining()).toBe(second - cost);
  });

  it('keeps a key read only at start, naming it in a log line', async () => {
    const lines: string[] = [];
    const stop = copyLogLines((line) => lines.push(line));
    try {
      const before = gateway.supergraph().configVersion;
      editConfig((file) => {
        file.gateway = { ...file.gateway, port: 1, subgraph_timeout_ms: 2_500 };
      });
      await reloadedFrom(before);
    } finally {
      stop();
    }
    expect(lines.map((line) => JSON.parse(line) as { key?: string; msg: string }).filter((line) => line.key === 'gateway.port').map((line) => line.msg)).toEqual(['gateway.port changed: it applies at the next restart; the running value stays']);
    expect((await postGraphQL(url(), '{ products(first: 1) { id } }')).status).toBe(200);
  });
});

describe('a reload that fails', () => {
  it('reports a bad config as a bad config, and forgets it once a later reload succeeds', async () => {
    const good = readFileSync(configPath, 'utf8');
    writeConfig(good.replace(/^limits:/m, 'limits:\n  max_dept: 3'));
    const refused = await gateway.reload();
    expect(refused).toMatchObject({ ok: false, kind: 'config' });
    const ready = await fetch(`${gateway.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { supergraph: { lastError: string; lastErrorKind: string } }).supergraph).toMatchObject({ lastErrorKind: 'config', lastError: expect.stringMatching(/limits\.max_dept/) });
    writeConfig(good);
    expect(await gateway.reload()).toMatchObject({ ok: true });
    expect(((await (await fetch(`${gateway.url}/readyz`)).json()) as { supergraph: object }).supergraph).not.toHaveProperty('lastError');
  });

  it('reports SDL that does not compose as a composition error', async () => {
    const file = (readConfig().subgraphs!.users as { schema: { file: string } }).schema.file;
    const sdl = readFileSync(file, 'utf8');
    writeFileSync(file, sdl.replace(/type User @key\(fields: "id"\)/, 'type User @key(fields: "nope")'));
    try {
      const refused = await gateway.reload();
      expect(refused).toMatchObject({ ok: false, kind: 'composition' });
    } finally {
      writeFileSync(file, sdl);
    }
    expect(await gateway.reload()).toMatchObject({ ok: true });
  });
});
