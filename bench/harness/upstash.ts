import { join } from 'node:path';
import { startChild, type RunningChild } from './child.js';

/** The Upstash REST proxy (dev/upstash-rest-proxy-cli.ts) in front of the local Redis, in a process of its own. */
export async function startUpstashProxy(geofedDir: string): Promise<{ child: RunningChild; url: string; token: string }> {
  const seen: Record<string, string> = {};
  const child = await startChild({
    name: 'Upstash REST proxy',
    args: ['--import', 'tsx', join(geofedDir, 'dev/upstash-rest-proxy-cli.ts'), '--port', '0'],
    readyLine: (line) => {
      const match = /^export (UPSTASH_REDIS_REST_(?:URL|TOKEN))=(.*)$/.exec(line);
      if (match) seen[match[1]!] = match[2]!;
      return seen.UPSTASH_REDIS_REST_URL && seen.UPSTASH_REDIS_REST_TOKEN ? 'up' : undefined;
    },
  });
  return { child, url: seen.UPSTASH_REDIS_REST_URL!, token: seen.UPSTASH_REDIS_REST_TOKEN! };
}
