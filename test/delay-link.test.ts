// The delay link of dev/ on real loopback sockets: what goes in comes out, in order, later, and counted.
import { createHash, randomBytes } from 'node:crypto';
import { Agent, createServer as createHttpServer, get, type Server as HttpServer } from 'node:http';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startDelayLink, type DelayLink } from '../dev/delay-link.js';

// Whatever a test opens it registers here; afterEach closes it, so a failing test leaks nothing into the next.
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

async function listen<T extends Server | HttpServer>(server: T): Promise<{ host: string; port: number }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject).listen(0, '127.0.0.1', () => resolve());
  });
  cleanups.push(() => (server.listening ? new Promise((resolve) => server.close(resolve)) : undefined));
  return { host: '127.0.0.1', port: (server.address() as AddressInfo).port };
}

async function link(target: { host: string; port: number }, roundTripMs: number): Promise<DelayLink> {
  const started = await startDelayLink({ target, roundTripMs, name: 'test' });
  cleanups.push(() => started.stop());
  return started;
}

/** A port that nothing listens on: connections to it are refused. */
async function unusedPort(): Promise<{ host: string; port: number }> {
  const server = createServer();
  const at = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return at;
}

/** A target that sends back whatever it gets and ends when the client does. */
const echoServer = () => createServer({ allowHalfOpen: true }, (socket) => socket.pipe(socket));

async function open(at: { host: string; port: number }, allowHalfOpen = false): Promise<Socket> {
  const socket = connect({ host: at.host, port: at.port, allowHalfOpen });
  cleanups.push(() => void socket.destroy());
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return socket;
}

/** Everything the socket receives until its peer ends. */
function readAll(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve, reject) => socket.once('end', () => resolve(Buffer.concat(chunks))).once('error', reject));
}

/** Resolves when the socket is closed, with the error code it saw on the way, if any. */
function closed(socket: Socket): Promise<{ code: string | undefined }> {
  let code: string | undefined;
  socket.on('error', (error: NodeJS.ErrnoException) => {
    code = error.code;
  });
  return new Promise((resolve) => socket.once('close', () => resolve({ code })));
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

function httpGet(port: number, path: string, agent: Agent | false): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, agent }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.once('end', () => resolve(Buffer.concat(chunks).toString()));
    }).once('error', reject);
  });
}

/** A keep-alive HTTP server that answers each request with its path. */
async function pathServer() {
  const server = createHttpServer({ keepAlive: true }, (request, response) => response.end(request.url));
  const target = await listen(server);
  cleanups.push(() => server.closeAllConnections());
  return target;
}

function keepAliveAgent(): Agent {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  cleanups.push(() => agent.destroy());
  return agent;
}

const counts = (l: DelayLink) => {
  const { connections, roundTrips } = l.stats();
  return { connections, roundTrips };
};

describe('delay link', () => {
  it('delivers a large payload byte for byte, both ways', async () => {
    const l = await link(await listen(echoServer()), 10);
    const payload = randomBytes(5 * 1024 * 1024);
    const client = await open(l);
    const received = readAll(client);
    client.end(payload);
    const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
    const echoed = await received;

    expect({ length: echoed.length, sha256: sha256(echoed) }).toEqual({ length: payload.length, sha256: sha256(payload) });
    const { connections, bytesToTarget, bytesFromTarget } = l.stats();
    expect({ connections, bytesToTarget, bytesFromTarget }).toEqual({
      connections: 1, bytesToTarget: payload.length, bytesFromTarget: payload.length,
    });
  });

  it('keeps the order of chunks sent at different times', async () => {
    const l = await link(await listen(echoServer()), 20);
    const client = await open(l);
    const received = readAll(client);
    const lines = Array.from({ length: 200 }, (_, i) => `line ${i}\n`);
    for (const line of lines) {
      client.write(line);
      await nextTurn();
    }
    client.end();

    expect((await received).toString()).toEqual(lines.join(''));
  });

  it('counts one round trip per request/response exchange on a keep-alive connection', async () => {
    const l = await link(await pathServer(), 10);
    const agent = keepAliveAgent();
    const bodies = [];
    for (const path of ['/1', '/2', '/3']) bodies.push(await httpGet(l.port, path, agent));

    expect(bodies).toEqual(['/1', '/2', '/3']);
    expect(counts(l)).toEqual({ connections: 1, roundTrips: 3 });
  });

  it('counts the round trips of each connection separately, and reset() starts again from zero', async () => {
    const l = await link(await pathServer(), 10);
    await httpGet(l.port, '/warm-up', false);
    l.reset();
    expect(l.stats()).toEqual({ connections: 0, roundTrips: 0, bytesToTarget: 0, bytesFromTarget: 0 });

    // Both connections send before either hears back: one round trip each, two in all.
    const [a, b] = [keepAliveAgent(), keepAliveAgent()];
    expect(await Promise.all([httpGet(l.port, '/a1', a), httpGet(l.port, '/b1', b)])).toEqual(['/a1', '/b1']);
    expect(counts(l)).toEqual({ connections: 2, roundTrips: 2 });
    expect(await Promise.all([httpGet(l.port, '/a2', a), httpGet(l.port, '/b2', b)])).toEqual(['/a2', '/b2']);
    expect(counts(l)).toEqual({ connections: 2, roundTrips: 4 });
  });

  it('makes a request on a fresh connection take at least the round trip', async () => {
    const l = await link(await pathServer(), 60);
    const started = performance.now();
    const body = await httpGet(l.port, '/slow', false);
    const elapsed = performance.now() - started;

    expect(body).toEqual('/slow');
    expect(elapsed).toBeGreaterThanOrEqual(60);
    expect(counts(l)).toEqual({ connections: 1, roundTrips: 1 });
  });

  it('forwards 0 ms links at once', async () => {
    const l = await link(await pathServer(), 0);
    expect(await httpGet(l.port, '/now', false)).toEqual('/now');
    expect(counts(l)).toEqual({ connections: 1, roundTrips: 1 });
  });

  it('propagates a half-close in each direction behind the data before it', async () => {
    // The target speaks first and ends its side at once, then reads on until the client ends.
    let heard: Promise<Buffer> | undefined;
    const target = createServer({ allowHalfOpen: true }, (socket) => {
      heard = readAll(socket);
      socket.end('hello');
    });
    const l = await link(await listen(target), 20);
    const client = await open(l, true);

    expect((await readAll(client)).toString()).toEqual('hello');
    const clientClosed = closed(client);
    client.end('still here');
    expect((await heard)?.toString()).toEqual('still here');
    expect(await clientClosed).toEqual({ code: undefined });
  });

  it('closes the client when the target refuses the connection', async () => {
    const l = await link(await unusedPort(), 20);
    const client = await open(l);

    expect(await closed(client)).toEqual({ code: 'ECONNRESET' });
    expect(counts(l)).toEqual({ connections: 1, roundTrips: 0 });
  });

  it('resets the client when the target resets the connection', async () => {
    const target = createServer((socket) => socket.once('data', () => socket.resetAndDestroy()));
    const l = await link(await listen(target), 20);
    const client = await open(l);
    client.write('request');

    expect(await closed(client)).toEqual({ code: 'ECONNRESET' });
  });

  it('closes the target side when the client goes away', async () => {
    let targetSide: Promise<{ code: string | undefined }> | undefined;
    let accepted: () => void = () => {};
    const acceptedOnce = new Promise<void>((resolve) => (accepted = resolve));
    const target = createServer((socket) => {
      targetSide = closed(socket);
      accepted();
    });
    const l = await link(await listen(target), 20);
    const client = await open(l);
    client.write('half a request');
    await acceptedOnce;
    client.resetAndDestroy();

    expect(await targetSide).toEqual({ code: 'ECONNRESET' });
  });

  it('rewrites URLs of its target to go through it, and refuses URLs of other servers', async () => {
    const target = await pathServer();
    const l = await link(target, 0);
    const through = l.url(`http://127.0.0.1:${target.port}/graphql?tenant=acme#x`);

    expect([through, l.url(`http://127.0.0.1:${target.port}`)]).toEqual([
      `http://127.0.0.1:${l.port}/graphql?tenant=acme#x`,
      `http://127.0.0.1:${l.port}`,
    ]);
    expect(await httpGet(Number(new URL(through).port), '/via-url', false)).toEqual('/via-url');
    expect(() => l.url(`http://localhost:${target.port}/graphql`)).toThrow(
      new Error(`Delay link test: http://localhost:${target.port}/graphql is not a URL of its target 127.0.0.1:${target.port}`),
    );
  });

  it('refuses a round trip that is negative or not a number', async () => {
    const target = { host: '127.0.0.1', port: 1 };
    await expect(startDelayLink({ target, roundTripMs: -1 })).rejects.toThrow(
      new RangeError('Delay link 127.0.0.1:1: roundTripMs must be a finite number >= 0, got -1'),
    );
    await expect(startDelayLink({ target, roundTripMs: Number.NaN, name: 'eu→us' })).rejects.toThrow(
      new RangeError('Delay link eu→us: roundTripMs must be a finite number >= 0, got NaN'),
    );
  });

  it('stop() closes every socket and clears the held chunks, leaving no handle open', async () => {
    const watched = new Set(['TCPServerWrap', 'TCPSocketWrap', 'Timeout']);
    // A listener's 'close' comes before libuv's close callback, and until that has run in the loop's close phase
    // the handle is still listed: two turns of the loop let the closings of this and earlier tests finish.
    const handles = async () => {
      await nextTurn();
      await nextTurn();
      return process.getActiveResourcesInfo().filter((type) => watched.has(type)).sort();
    };
    const before = await handles();

    const echo = echoServer();
    let accepted: () => void = () => {};
    const acceptedOnce = new Promise<void>((resolve) => (accepted = resolve));
    echo.on('connection', () => accepted());
    const target = await listen(echo);
    const l = await startDelayLink({ target, roundTripMs: 20_000 });
    const client = await open(l);
    const clientClosed = closed(client);
    client.write('held for ten seconds');
    await acceptedOnce;
    while (l.stats().roundTrips === 0) await nextTurn();

    await l.stop();
    expect(await clientClosed).toEqual({ code: undefined });
    await new Promise((resolve) => echo.close(resolve));
    expect(await handles()).toEqual(before);
    await l.stop();
  });
});
