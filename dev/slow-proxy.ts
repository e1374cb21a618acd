// A TCP proxy that makes a server slow or gone on demand, for the store-outage tests and the budget benchmark:
// in front of the Upstash REST proxy, it passes every request through at once and holds each reply back by a
// settable delay (so a command still lands in Redis on time, and only its answer is late), and it can be
// stopped (its port refuses connections, open ones are cut) and started again on the same port.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface SlowProxy {
  /** `http://host:port` of the proxy, the target's scheme kept: what a client is given instead of the target's URL. */
  readonly url: string;
  /** Replies from now on reach the client this many ms after the target sent them (order kept); Infinity holds them all. */
  setDelay(ms: number): void;
  readonly delayMs: number;
  /** Connections accepted so far (tests see keep-alive in it). */
  connectionCount(): number;
  /** Refuses new connections and cuts the open ones, as a store that went away. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  readonly running: boolean;
  /** Stops for good. */
  close(): Promise<void>;
}

export interface SlowProxyOptions {
  /** The server behind it, e.g. the Upstash REST proxy's URL. */
  readonly target: string;
  /** @default 0 */
  readonly delayMs?: number;
  /** @default 127.0.0.1 */
  readonly host?: string;
  /** @default 0 = a free port */
  readonly port?: number;
}

export async function startSlowProxy({ target, delayMs = 0, host = '127.0.0.1', port = 0 }: SlowProxyOptions): Promise<SlowProxy> {
  const upstream = new URL(target);
  const upstreamPort = Number(upstream.port || (upstream.protocol === 'https:' ? 443 : 80));
  let delay = delayMs;
  let accepted = 0;
  const open = new Set<Socket>();

  const relay = (client: Socket) => {
    accepted += 1;
    const server = createConnection({ host: upstream.hostname, port: upstreamPort });
    open.add(client);
    open.add(server);
    client.setNoDelay(true);
    server.setNoDelay(true);
    // Replies wait in order; each is due `delay` after it arrived, never before the one ahead of it.
    const held: { readonly at: number; readonly chunk: Buffer }[] = [];
    let timer: NodeJS.Timeout | undefined;
    let upstreamEnded = false;
    const drain = () => {
      timer = undefined;
      while (held.length > 0 && held[0]!.at <= performance.now()) client.write(held.shift()!.chunk);
      if (held.length > 0) schedule();
      else if (upstreamEnded) client.end();
    };
    const schedule = () => {
      if (timer || held.length === 0 || !Number.isFinite(held[0]!.at)) return;
      timer = setTimeout(drain, Math.max(0, held[0]!.at - performance.now()));
    };
    server.on('data', (chunk: Buffer) => {
      if (delay <= 0 && held.length === 0) {
        client.write(chunk);
        return;
      }
      held.push({ at: Math.max(performance.now() + delay, held.at(-1)?.at ?? 0), chunk });
      schedule();
    });
    server.on('end', () => {
      upstreamEnded = true;
      if (held.length === 0) client.end();
    });
    client.on('data', (chunk: Buffer) => server.write(chunk));
    client.on('end', () => server.end());
    const cut = () => {
      clearTimeout(timer);
      held.length = 0;
      client.destroy();
      server.destroy();
      open.delete(client);
      open.delete(server);
    };
    client.on('error', cut);
    server.on('error', cut);
    client.on('close', cut);
    server.on('close', cut);
  };

  let listener: Server | undefined;
  let boundPort = port;
  const listen = async () => {
    const next = createServer(relay);
    await new Promise<void>((resolve, reject) => {
      next.once('error', reject);
      next.listen(boundPort, host, () => {
        next.off('error', reject);
        resolve();
      });
    });
    boundPort = (next.address() as AddressInfo).port;
    listener = next;
  };
  const unlisten = async () => {
    const current = listener;
    listener = undefined;
    if (!current) return;
    const closed = new Promise<void>((resolve) => current.close(() => resolve()));
    for (const socket of open) socket.destroy();
    open.clear();
    await closed;
  };

  await listen();
  return {
    url: `${upstream.protocol}//${host}:${boundPort}`,
    setDelay(ms: number) {
      delay = ms;
    },
    get delayMs() {
      return delay;
    },
    connectionCount: () => accepted,
    stop: unlisten,
    start: async () => {
      if (!listener) await listen();
    },
    get running() {
      return listener !== undefined;
    },
    close: unlisten,
  };
}
