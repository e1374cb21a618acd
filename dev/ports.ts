import { randomInt } from 'node:crypto';
import { createServer } from 'node:net';

/** The port of an http(s) or postgres URL. */
export function portOf(url: string): number {
  const parsed = new URL(url);
  return parsed.port ? Number(parsed.port) : parsed.protocol === 'https:' ? 443 : 80;
}

/**
 * Ports the kernel never gives an outgoing connection as its own (Linux's ephemeral range starts at 32768,
 * macOS's at 49152): a port picked here and listened on a moment later cannot meanwhile become the local
 * end of some client's connection, as a port the kernel chose (listen on 0) can.
 */
const listenRange = { low: 20_000, high: 32_767 } as const;
const attempts = 200;
/** Ports this process has handed out: free until their server listens, so a second draw must not return one of them. */
const handedOut = new Set<number>();

/**
 * A port free on 127.0.0.1 now: for servers whose URL others must know
 * before it listens (each region's gateway names every other one).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const port = randomInt(listenRange.low, listenRange.high + 1);
    if (handedOut.has(port) || !(await canListen(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port on 127.0.0.1 between ${listenRange.low} and ${listenRange.high} after ${attempts} tries`);
}

async function canListen(port: number): Promise<boolean> {
  const server = createServer();
  const listening = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  return listening;
}
