import { readFileSync } from 'node:fs';

// Reads a V8 .cpuprofile (node --cpu-prof) and tells where the time went: the frames with the most
// self time, and self time by owner (a package of node_modules, a folder of geofed, Node itself).

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number; readonly columnNumber: number };
  readonly hitCount?: number;
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

export interface Share {
  readonly name: string;
  readonly ms: number;
  /** Of the time the process was busy (idle excluded). */
  readonly percent: number;
}

export interface ProfileSummary {
  readonly busyMs: number;
  readonly idleMs: number;
  readonly frames: readonly Share[];
  readonly owners: readonly Share[];
}

/** `node_modules/@apollo/gateway/dist/…` → `@apollo/gateway`; a geofed file → its folder; Node's own → `node`. */
export function ownerOf(url: string, repoRoot: string): string {
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/.exec(url);
  if (modules) return modules[1]!;
  if (url.startsWith('node:') || url === '') return 'node';
  const path = url.replace(/^file:\/\//, '');
  if (path.startsWith(repoRoot)) return `geofed ${path.slice(repoRoot.length).replace(/^\//, '').split('/')[0]}/`;
  return path;
}

const special = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

export interface SummaryOptions {
  /** Samples of the first `skipMs` of the profile (the process's start) are left out. @default 0 */
  readonly skipMs?: number;
  /** Rows of each ranking. @default 25 */
  readonly top?: number;
}

export function summarizeProfile(file: string, repoRoot: string, { skipMs = 0, top = 25 }: SummaryOptions = {}): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMs = new Map<number, number>();
  // timeDeltas[i] is the µs between sample i - 1 and sample i; sample i is charged the time until the next one.
  let elapsedUs = 0;
  profile.samples.forEach((id, i) => {
    elapsedUs += profile.timeDeltas[i] ?? 0;
    if (elapsedUs / 1000 >= skipMs) selfMs.set(id, (selfMs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0) / 1000);
  });
  const frames = new Map<string, number>();
  const owners = new Map<string, number>();
  let idleMs = 0;
  for (const [id, ms] of selfMs) {
    const { functionName, url, lineNumber, columnNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') {
      idleMs += ms;
      continue;
    }
    const owner = special.has(functionName) ? functionName : ownerOf(url, repoRoot);
    const frame = special.has(functionName) ? functionName : `${functionName || '(anonymous)'} ${owner === 'node' ? url || 'native' : `${owner} ${url.split('/').pop()}:${lineNumber + 1}:${columnNumber + 1}`}`;
    frames.set(frame, (frames.get(frame) ?? 0) + ms);
    owners.set(owner, (owners.get(owner) ?? 0) + ms);
  }
  const busyMs = [...frames.values()].reduce((a, b) => a + b, 0);
  const ranked = (map: Map<string, number>) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => ({ name, ms, percent: (ms / busyMs) * 100 }));
  return { busyMs, idleMs, frames: ranked(frames), owners: ranked(owners) };
}

export function shareTable(title: string, shares: readonly Share[]): string {
  return [`| ${title} | self ms | % of busy |`, '|---|---:|---:|', ...shares.map((s) => `| ${s.name.replace(/\|/g, '\\|')} | ${s.ms.toFixed(0)} | ${s.percent.toFixed(1)} |`)].join('\n');
}
