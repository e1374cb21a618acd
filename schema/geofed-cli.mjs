#!/usr/bin/env node
// `npx geofed check [...]`: runs schema/check-cli.ts under tsx and exits with its code.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const [command, ...rest] = process.argv.slice(2);
if (command !== 'check') {
  console.error('usage: geofed check [--base FILE] [--allow-breaking] [--json] [--config FILE]');
  process.exit(2);
}
const checkCli = fileURLToPath(new URL('./check-cli.ts', import.meta.url));
// Resolved from this file, so the command works from any working directory.
const tsx = import.meta.resolve('tsx');
const child = spawnSync(process.execPath, ['--import', tsx, checkCli, ...rest], { stdio: 'inherit' });
if (child.error) {
  console.error(`geofed: cannot run ${checkCli}: ${child.error.message}`);
  process.exit(1);
}
process.exit(child.status ?? 1);
