import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startChild } from './harness/child.js';
import { shareTable, summarizeProfile } from './harness/cpu-profile.js';
import { runLoad } from './harness/load.js';
import { progress } from './harness/progress.js';
import { machineLines, machineNote, uptime, writeResults } from './harness/results.js';
import { classicTargetNames, classicTargets } from './classic/targets.js';

// Where a gateway's CPU goes on the classic workload: each target (by default geofed with every
// plugin on, and the bare Apollo Gateway beside it) runs alone under the load with node --cpu-prof,
// then its profile's frames and owners are ranked by self time, start-up and warm-up left out.
// `npm run bench -- --only profile [--targets 3,0 --seconds 20 --warmup 3 --keep DIR]`; --keep
// keeps the .cpuprofile files (for Chrome DevTools) in DIR.
const { values } = parseArgs({
  allowPositionals: true,
  strict: false,
  options: {
    targets: { type: 'string', default: '3,0' },
    seconds: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '20' },
    geofed: { type: 'string', default: '.' },
    keep: { type: 'string' },
  },
});
const names = String(values.targets).split(',').map((i) => classicTargetNames[Number(i)]!).filter(Boolean);
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const geofedDir = resolve(String(values.geofed));
const note = machineNote();
const dir = mkdtempSync(join(tmpdir(), 'geofed-bench-profile-'));
const profiles = values.keep === undefined ? join(dir, 'profiles') : resolve(String(values.keep));
mkdirSync(profiles, { recursive: true });

const sections: string[] = [];
const json: unknown[] = [];
const subgraphs = await startChild({ name: 'classic subgraphs', args: ['--import', 'tsx', 'bench/classic/subgraphs-main.ts', dir] });
try {
  const { supergraphPath } = JSON.parse(subgraphs.ready) as { supergraphPath: string };
  const targets = classicTargets({ supergraphPath, dir, geofedDir, nodeFlags: ['--cpu-prof', '--cpu-prof-dir', profiles] }, names);
  for (const target of targets) {
    const spawned = Date.now();
    const child = await target.start();
    const load = target.request(child.ready);
    try {
      await runLoad(load, connections, Number(values.warmup));
      const measuredFrom = Date.now();
      const sample = await runLoad(load, connections, seconds);
      progress(`profile: ${target.name} under load ${seconds} s, ${sample.requestsPerSecond.toFixed(0)} req/s`);
      await child.stop(15_000);
      // The main thread's profile (thread 0); the tsx loader's worker writes its own.
      const file = readdirSync(profiles).find((name) => name.includes(`.${child.pid}.0.`) && name.endsWith('.cpuprofile'));
      if (!file) throw new Error(`${target.name} wrote no profile in ${profiles}`);
      const summary = summarizeProfile(join(profiles, file), geofedDir, { skipMs: measuredFrom - spawned });
      progress(`profile: ${target.name}: ${(summary.busyMs / 1000).toFixed(1)} s busy, top frame ${summary.frames[0]?.name ?? 'none'}`);
      sections.push(`## ${target.name}`, '', `${sample.requests} requests in ${sample.seconds} s; ${(summary.busyMs / 1000).toFixed(1)} s busy, ${(summary.idleMs / 1000).toFixed(1)} s idle; ${((summary.busyMs / sample.requests) || 0).toFixed(1)} ms of CPU per request.`, '', shareTable('owner', summary.owners.slice(0, 15)), '', shareTable('frame (self time)', summary.frames), '');
      json.push({ target: target.name, requests: sample.requests, seconds: sample.seconds, profile: join(profiles, file), ...summary });
    } finally {
      await child.stop();
    }
  }
  const markdown = [`# CPU profiles on the classic workload`, '', `${new Date().toISOString()}. ${connections} connections, ${seconds} s of load per gateway after a warm-up, each alone; node --cpu-prof, start-up and warm-up left out.`, '', machineLines({ ...note, uptimeAfter: uptime() }), '', ...sections].join('\n');
  progress(`profile: results in ${writeResults('profile', { markdown, json })}`);
} finally {
  await subgraphs.stop();
  rmSync(dir, { recursive: true, force: true });
}
