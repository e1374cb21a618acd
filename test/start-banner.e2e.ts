import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { seedUsers } from '../subgraphs/index.js';

// `npm start`'s banner: outside production its dev tokens carry no role (an admin or an operator is minted on
// purpose); under NODE_ENV=production it prints neither a token nor a name.

/** supergraph.yaml with every port moved by `shift`, so the banner test's stack collides with no other. */
function shiftedConfig(shift: number): string {
  const text = readFileSync('supergraph.yaml', 'utf8')
    .replace(/127\.0\.0\.1:(\d+)/g, (_, port: string) => `127.0.0.1:${Number(port) + shift}`)
    .replace(/schema\/(\w+)\.graphql/g, (path: string) => resolve(path));
  const file = join(mkdtempSync(join(tmpdir(), 'geofed-banner-')), 'supergraph.yaml');
  writeFileSync(file, text);
  return file;
}

/** Runs `npm start -- --memory` until its banner ends, then stops it. */
async function banner(env: NodeJS.ProcessEnv, shift: number): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'dev/start.ts', '--memory'], {
    env: { ...process.env, GEOFED_CONFIG: shiftedConfig(shift), LOG_LEVEL: 'warn', GEOFED_AUDIT_LOG: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  await new Promise<void>((done, fail) => {
    const collect = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('Ctrl-C stops everything.')) done();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('exit', (code) => fail(new Error(`npm start exited with ${code}: ${out}`)));
  });
  child.kill('SIGTERM');
  await exited;
  return out;
}

const jwts = (text: string) => text.match(/eyJ[\w-]+\.[\w-]+\.[\w-]+/g) ?? [];

/** A safety net for a start that hangs, not a duration under test: five databases seeded in memory take a while on a busy machine. */
const startTimeoutMs = 180_000;

describe('the npm start banner', () => {
  it('prints dev tokens without a role outside production', { timeout: startTimeoutMs }, async () => {
    const out = await banner({}, 20_000);
    expect(jwts(out).map((token) => decodeJwt(token).roles ?? [])).toEqual([[], [], [], []]);
  });

  it('prints no token and no user name under NODE_ENV=production', { timeout: startTimeoutMs }, async () => {
    const out = await banner({ NODE_ENV: 'production', GEOFED_JWT_SECRET: 'banner-suite-jwt-secret-0123456789abcdef', GEOFED_SUBGRAPH_SECRET: 'banner-suite-subgraph-secret-0123456789ab', GEOFED_GATEWAY_HOP_SECRET: 'banner-suite-hop-secret-0123456789abcdefg' }, 21_000);
    expect(jwts(out)).toEqual([]);
    expect(seedUsers.filter((user) => out.includes(user.name))).toEqual([]);
    expect(out).toContain('No dev tokens in production');
  });
});
