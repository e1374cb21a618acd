// A TCP proxy that holds every chunk for half a round trip in each direction. This machine has no
// kernel traffic shaper (tc netem), so the distance between two regions is simulated in user space:
// put a link between a gateway and a subgraph of another region and every exchange pays the round trip.
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';
import { clearTimeout, setTimeout } from 'node:timers';

export interface DelayLinkOptions {
  /** Where connections go (a server on loopback). */
  readonly target: { readonly host: string; readonly port: number };
  /** The simulated round trip in ms: each chunk is held roundTripMs / 2 in each direction. */
  readonly roundTripMs: number;
  /** A name for messages, e.g. "eu→us gateway"; default the target's host:port. */
  readonly name?: string;
}

export interface DelayLinkStats {
  /** Connections accepted. */
  connections: number;
  /** Round trips as the clients experienced them (see startDelayLink). */
  roundTrips: number;
  /** Bytes delivered to the target. */
  bytesToTarget: number;
  /** Bytes delivered to the clients. */
  bytesFromTarget: number;
}

export interface DelayLink {
  readonly name: string;
  /** Always 127.0.0.1. */
  readonly host: string;
  /** A free port, chosen when the link starts. */
  readonly port: number;
  readonly roundTripMs: number;
  /** Rewrites a URL of the target (e.g. http://127.0.0.1:4001/graphql) so it goes through the link; the rest is kept as written. */
  url(targetUrl: string): string;
  /** Counters since start or the last reset(). */
  stats(): DelayLinkStats;
  reset(): void;
  /** Closes the listener, destroys every open socket, drops the chunks still held; resolves once all are closed. Safe to call twice. */
  stop(): Promise<void>;
}

/** A held chunk; null stands for the end (FIN) of that direction, which travels behind the chunks before it. */
interface Held {
  readonly due: number;
  readonly chunk: Buffer | null;
}

/**
 * One direction of a connection: what `from` sends reaches `to` holdMs later, in the order it was read.
 * A single timer serves the whole queue, always for its head, so a later chunk can never overtake an earlier one.
 */
function forward(from: Socket, to: Socket, holdMs: number, delivered: (chunk: Buffer) => void): void {
  const queue: Held[] = [];
  let timer: NodeJS.Timeout | undefined;
  let waitingForDrain = false;

  const deliver = (chunk: Buffer | null) => {
    if (to.destroyed) return;
    if (chunk === null) {
      to.end();
      return;
    }
    delivered(chunk);
    // Chunks already held are in flight and still arrive; the sender waits until the receiver catches up.
    if (!to.write(chunk) && !waitingForDrain) {
      waitingForDrain = true;
      from.pause();
      to.once('drain', () => {
        waitingForDrain = false;
        from.resume();
      });
    }
  };
  // Timers may fire a little early by the monotonic clock; a head that is not due yet waits for the rest.
  const flush = () => {
    timer = undefined;
    const now = performance.now();
    for (let head = queue[0]; head && head.due <= now; head = queue[0]) {
      queue.shift();
      deliver(head.chunk);
    }
    if (queue[0]) timer = setTimeout(flush, Math.ceil(queue[0].due - now));
  };
  const hold = (chunk: Buffer | null) => {
    if (holdMs === 0) {
      deliver(chunk);
      return;
    }
    queue.push({ due: performance.now() + holdMs, chunk });
    timer ??= setTimeout(flush, holdMs);
  };

  from.on('data', (chunk: Buffer) => hold(chunk));
  from.on('end', () => hold(null));
  to.once('close', () => {
    clearTimeout(timer);
    queue.length = 0;
  });
}

/**
 * Starts a link on 127.0.0.1 (a free port) to `target`: each accepted connection gets its own connection
 * to the target, and every chunk read from either side is written to the other roundTripMs / 2 later,
 * in order. roundTripMs 0 forwards at once.
 *
 * Round trips are counted as a client experiences them: one each time the client sends data after data
 * from the target has reached it on that connection, or sends the first data of a connection. So N sequential
 * HTTP requests on one keep-alive connection count N, a pipelined burst counts 1, and a request on a fresh
 * connection counts 1: the link delays data only, not the TCP handshake (nor TLS, which it cannot see), so a
 * real fresh connection would cost one more round trip than the link charges. Bandwidth and loss are not modelled.
 *
 * Edges: both sockets are half-open capable, so an end from one side reaches the other after that
 * direction's held chunks. If either side fails (the target refuses or resets, the client resets, a write
 * hits a closed peer) the other side is reset at once, dropping what was held: a plain end could pass a
 * truncated close-delimited response off as complete. A receiver that reads slowly pauses its sender
 * until it drains.
 */
export async function startDelayLink(options: DelayLinkOptions): Promise<DelayLink> {
  const { target, roundTripMs } = options;
  const name = options.name ?? `${target.host}:${target.port}`;
  if (!Number.isFinite(roundTripMs) || roundTripMs < 0) {
    throw new RangeError(`Delay link ${name}: roundTripMs must be a finite number >= 0, got ${roundTripMs}`);
  }
  const holdMs = roundTripMs / 2;
  const zero = (): DelayLinkStats => ({ connections: 0, roundTrips: 0, bytesToTarget: 0, bytesFromTarget: 0 });
  let counters = zero();
  const sockets = new Set<Socket>();
  let stopping: Promise<void> | undefined;

  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };

  const server = createServer({ allowHalfOpen: true }, (client) => {
    if (stopping) {
      client.destroy();
      return;
    }
    counters.connections += 1;
    const upstream = createConnection({ host: target.host, port: target.port, allowHalfOpen: true });
    track(client);
    track(upstream);

    let replied = true;
    client.on('data', () => {
      if (replied) counters.roundTrips += 1;
      replied = false;
    });
    forward(client, upstream, holdMs, (chunk) => {
      counters.bytesToTarget += chunk.length;
    });
    forward(upstream, client, holdMs, (chunk) => {
      counters.bytesFromTarget += chunk.length;
      replied = true;
    });
    for (const [socket, peer] of [[client, upstream], [upstream, client]] as const) {
      socket.on('error', () => {
        if (!peer.destroyed) peer.resetAndDestroy();
      });
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address: host, port } = server.address() as AddressInfo;

  return {
    name,
    host,
    port,
    roundTripMs,
    url(targetUrl) {
      const parsed = new URL(targetUrl);
      const targetPort = Number(parsed.port || (parsed.protocol === 'https:' || parsed.protocol === 'wss:' ? 443 : 80));
      if (parsed.hostname.replace(/^\[(.*)\]$/, '$1') !== target.host || targetPort !== target.port) {
        throw new Error(`Delay link ${name}: ${targetUrl} is not a URL of its target ${target.host}:${target.port}`);
      }
      return targetUrl.replace(/^([a-z][a-z\d+.-]*:\/\/(?:[^/?#@]*@)?)[^/?#]*/i, `$1${host}:${port}`);
    },
    stats: () => ({ ...counters }),
    reset() {
      counters = zero();
    },
    stop: () =>
      (stopping ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        await Promise.all([
          closed,
          ...[...sockets].map((socket) => {
            const gone = new Promise((resolve) => socket.once('close', resolve));
            socket.destroy();
            return gone;
          }),
        ]);
      })()),
  };
}
