import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// `geofed`, the one CLI: --help lists its commands, each command has --help, and a user's mistake is a usage
// message with exit code 2, never a stack trace.
const run = promisify(execFile);

async function geofed(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['cli/geofed.mjs', ...args], { env: { ...process.env, LOG_LEVEL: 'silent' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('geofed', () => {
  it('--help lists every command and exits 0', async () => {
    const { code, stdout } = await geofed('--help');
    expect(code).toBe(0);
    for (const command of ['gateway', 'compose', 'check', 'rollout', 'token', 'pq']) expect(stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
  });

  it.each(['gateway', 'compose', 'check', 'rollout', 'token', 'pq'])('%s --help prints its usage and exits 0', async (command) => {
    const { code, stdout, stderr } = await geofed(command, '--help');
    expect(code).toBe(0);
    expect(stdout).toContain(`usage: geofed ${command}`);
    expect(stderr).toBe('');
  });

  it.each([
    [['nope'], 'unknown command "nope"'],
    [['token', '--tenant', 'acme', '--expires', '5x'], '--expires: "5x" is not a lifetime'],
    [['token', '--tenat', 'acme'], "Unknown option '--tenat'"],
    [['pq', 'manifest'], 'a folder of .graphql operation files is required'],
    [['compose', '--config', 'no-such-file.yaml'], 'cannot be read as YAML'],
  ])('%j is a clear error without a stack trace', async (args, message) => {
    const { code, stderr } = await geofed(...args);
    expect(code).toBeGreaterThan(0);
    expect(stderr).toContain(message);
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});
