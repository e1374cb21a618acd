import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { gatewayEnv } from '../gateway/env.js';
import { tokenVerifier } from '../gateway/tokens.js';

const run = promisify(execFile);
const tsx = join('node_modules', '.bin', 'tsx');

async function exitOf(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(tsx, args, { env: { ...process.env, LOG_LEVEL: 'silent', ...env }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('command line', () => {
  it('token prints one verifiable JWT for the tenant\'s first user and nothing else', async () => {
    const { code, stdout, stderr } = await exitOf(['cli/geofed.ts', 'token', '--tenant', 'initech', '--role', 'admin'], {});
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(await tokenVerifier({ maxTokenLifetimeSeconds: 86_400 }, gatewayEnv({}))(stdout.trim())).toEqual({ tenantId: 'initech', userId: 'usr_initech_1', roles: ['admin'] });
    expect(decodeJwt(stdout.trim())).not.toHaveProperty('region');
  });

  it('token refuses a missing tenant with a usage line', async () => {
    const { code, stderr } = await exitOf(['cli/geofed.ts', 'token'], {});
    expect(code).toBe(2);
    expect(stderr).toContain('--tenant is required');
  });

  it('the gateway stops at start-up on a malformed supergraph.yaml, naming the file and key', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'geofed-cli-')), 'supergraph.yaml');
    writeFileSync(file, 'regions: [us]\nsupergraph: x.graphql\ngateway: { region: eu }\nsubgraphs: {}\n');
    const { code, stderr } = await exitOf(['cli/geofed.ts', 'gateway'], { GEOFED_CONFIG: file });
    expect(code).toBe(1);
    expect(stderr).toContain(file);
    expect(stderr).toContain('gateway.region: "eu" is not one of regions [us]');
  });

  it('a subgraph stops at start-up when its database URL cannot be reached, without printing the password', async () => {
    const { code, stderr } = await exitOf(['subgraphs/main.ts', 'users', '--region', 'eu'], {
      GEOFED_DATABASE_URL_EU: 'postgres://geofed:s3cret@127.0.0.1:1/nowhere',
      PORT: '0',
    });
    expect(code).toBe(1);
    expect(stderr).toContain('cannot connect to PostgreSQL at postgres://geofed:***@127.0.0.1:1/nowhere');
    expect(stderr).not.toContain('s3cret');
  });

  it('production refuses to start without GEOFED_JWT_SECRET', async () => {
    const { code, stderr } = await exitOf(['cli/geofed.ts', 'gateway'], { NODE_ENV: 'production', GEOFED_JWT_SECRET: '', GEOFED_SUBGRAPH_SECRET: 'a-subgraph-secret-of-32-characters-or-more', GEOFED_GATEWAY_HOP_SECRET: 'a-hop-secret-of-32-characters-or-more-too', PORT: '0' });
    expect(code).toBe(1);
    expect(stderr).toContain('GEOFED_JWT_SECRET is not set');
  });
});
