import { connect, type Socket } from 'node:net';

// HTTP/1.1 over a bare socket, for what an HTTP client library hides: a request followed by a second
// one on the same keep-alive connection (a server that answers without reading the whole body must
// close the connection, or the next request waits forever), and header bytes a library refuses to send.

export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export type RawExchange =
  | { readonly kind: 'answered'; readonly first: RawResponse; readonly followUp: 'answered' | 'closed-as-announced' | 'unanswered' | 'closed-unanswered' }
  | { readonly kind: 'hang' }
  | { readonly kind: 'network-error'; readonly message: string };

/** Reads HTTP/1.1 responses off a socket, one after the other (content-length, chunked, or until close). */
class ResponseReader {
  private buffer = Buffer.alloc(0);
  private closed = false;
  private waiter: (() => void) | undefined;

  constructor(socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private wake() {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  private async more(): Promise<boolean> {
    if (this.closed) return false;
    await new Promise<void>((resolve) => (this.waiter = resolve));
    return true;
  }

  /** The next response, or undefined if the connection closed first (`head`: the answer to a HEAD, without a body). */
  async next(head = false): Promise<RawResponse | undefined> {
    let end: number;
    while ((end = this.buffer.indexOf('\r\n\r\n')) < 0) if (!(await this.more())) return undefined;
    const lines = this.buffer.subarray(0, end).toString('latin1').split('\r\n');
    this.buffer = this.buffer.subarray(end + 4);
    const status = Number(lines[0]?.split(' ')[1]);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    // 1xx: an interim answer, the real one follows.
    if (status >= 100 && status < 200) return this.next(head);
    let body: Buffer;
    if (head || status === 204 || status === 304) body = Buffer.alloc(0);
    else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      const parts: Buffer[] = [];
      for (;;) {
        let line: number;
        while ((line = this.buffer.indexOf('\r\n')) < 0) if (!(await this.more())) return undefined;
        const size = parseInt(this.buffer.subarray(0, line).toString('latin1'), 16);
        while (this.buffer.length < line + 2 + size + 2) if (!(await this.more())) return undefined;
        if (size === 0) {
          this.buffer = this.buffer.subarray(line + 4);
          break;
        }
        parts.push(this.buffer.subarray(line + 2, line + 2 + size));
        this.buffer = this.buffer.subarray(line + 2 + size + 2);
      }
      body = Buffer.concat(parts);
    } else if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      while (this.buffer.length < length) if (!(await this.more())) return undefined;
      body = this.buffer.subarray(0, length);
      this.buffer = this.buffer.subarray(length);
    } else {
      while (await this.more());
      body = this.buffer;
      this.buffer = Buffer.alloc(0);
    }
    return { status, headers, body: body.toString('utf8') };
  }
}

export interface RawRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
  /** Header lines sent as they are (bytes a client library would refuse). */
  readonly rawHeaderLines?: readonly Buffer[];
}

/**
 * Sends `request` on a fresh connection, then `GET /healthz` on the same connection, and reads both
 * answers within `deadlineMs`. A server that announced `connection: close` may close instead of
 * answering the second; any other unanswered second request is a fault of the server.
 */
export async function exchangeOnOneConnection(origin: URL, request: RawRequest, deadlineMs: number): Promise<RawExchange> {
  const socket = connect(Number(origin.port), origin.hostname);
  const reader = new ResponseReader(socket);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => (timer = setTimeout(() => resolve('deadline'), deadlineMs)));
  try {
    const connected = await Promise.race([
      new Promise<true>((resolve, reject) => {
        socket.once('connect', () => resolve(true));
        socket.once('error', reject);
      }),
      deadline,
    ]).catch((error: Error) => error);
    if (connected instanceof Error) return { kind: 'network-error', message: connected.message };
    if (connected === 'deadline') return { kind: 'hang' };
    const body = request.body === undefined ? Buffer.alloc(0) : Buffer.from(request.body);
    const lines = [`${request.method} ${request.path} HTTP/1.1`, `host: ${origin.host}`, ...Object.entries(request.headers).map(([k, v]) => `${k}: ${v}`)];
    if (request.body !== undefined) lines.push(`content-length: ${body.length}`);
    socket.write(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n`, 'latin1'), ...(request.rawHeaderLines ?? []).map((line) => Buffer.concat([line, Buffer.from('\r\n')])), Buffer.from('\r\n'), body]));
    const first = await Promise.race([reader.next(request.method.toUpperCase() === 'HEAD'), deadline]);
    if (first === 'deadline') return { kind: 'hang' };
    if (first === undefined) return { kind: 'network-error', message: 'connection closed before an answer' };
    if (reader.isClosed || /close/i.test(first.headers.connection ?? '')) return { kind: 'answered', first, followUp: 'closed-as-announced' };
    socket.write(`GET /healthz HTTP/1.1\r\nhost: ${origin.host}\r\n\r\n`);
    const second = await Promise.race([reader.next(), deadline]);
    const followUp = second === 'deadline' ? 'unanswered' : second === undefined ? 'closed-unanswered' : 'answered';
    return { kind: 'answered', first, followUp };
  } finally {
    clearTimeout(timer);
    socket.destroy();
  }
}
