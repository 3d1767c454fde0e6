/**
 * A lean HTTP/1.1 client for the polling protocols, written on `net` rather than
 * `node:http`: with node:http's client the generator spent more CPU per round trip than
 * the fastest servers, and so measured itself. Each polling session holds two keep-alive
 * connections, one for its held poll and one for its sends, as a browser does.
 *
 * Requests on one connection are pipelined and answered in order (HTTP/1.1 §6.3.2).
 * Responses are read by Content-Length or chunked transfer coding; a closed connection is
 * reopened on the next request.
 */
import { connect, type Socket } from 'node:net';

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

interface Pending {
  resolve(answer: HttpAnswer): void;
  reject(error: Error): void;
}

const HEADER_END = Buffer.from('\r\n\r\n');
/** What an ordinary HTTP client sends besides Host: the server parses these on every request. */
const COMMON_HEADERS = 'Accept: */*\r\nUser-Agent: switchyard-bench\r\n';
const CRLF = Buffer.from('\r\n');

/** One keep-alive connection. */
class Connection {
  private socket: Socket | null = null;
  private buffer: Buffer = Buffer.alloc(0);
  private readonly pending: Pending[] = [];

  constructor(
    private readonly port: number,
    private readonly from: string | undefined,
  ) {}

  request(method: string, path: string, body: string, contentType: string): Promise<HttpAnswer> {
    const socket = this.socket ?? this.open();
    const length = Buffer.byteLength(body);
    const head =
      `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${this.port}\r\nConnection: keep-alive\r\n${COMMON_HEADERS}` +
      (method === 'GET' ? '\r\n' : `Content-Type: ${contentType}\r\nContent-Length: ${length}\r\n\r\n`);
    socket.write(head + body);
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }

  close(): void {
    this.socket?.destroy();
  }

  private open(): Socket {
    const socket = connect({ port: this.port, host: '127.0.0.1', localAddress: this.from });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    const onEnd = () => {
      if (this.socket === socket) this.socket = null;
      this.buffer = Buffer.alloc(0);
      for (const waiter of this.pending.splice(0)) waiter.reject(new Error('connection closed'));
    };
    socket.on('close', onEnd);
    socket.on('error', onEnd);
    this.socket = socket;
    return socket;
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const parsed = parseResponse(this.buffer);
      if (parsed === null) return;
      this.buffer = this.buffer.subarray(parsed.consumed);
      this.pending.shift()?.resolve(parsed.answer);
    }
  }
}

/** One complete response at the start of `buffer`, or null when more bytes are needed. */
function parseResponse(buffer: Buffer): { answer: HttpAnswer; consumed: number } | null {
  const headerEnd = buffer.indexOf(HEADER_END);
  if (headerEnd === -1) return null;
  const head = buffer.toString('latin1', 0, headerEnd);
  const status = Number(head.slice(9, 12));
  const bodyStart = headerEnd + 4;
  const lengthMatch = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (lengthMatch !== null) {
    const end = bodyStart + Number(lengthMatch[1]);
    if (buffer.length < end) return null;
    return { answer: { status, body: buffer.toString('utf8', bodyStart, end) }, consumed: end };
  }
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) return parseChunked(buffer, status, bodyStart);
  // Neither (204, 304): no body.
  return { answer: { status, body: '' }, consumed: bodyStart };
}

function parseChunked(buffer: Buffer, status: number, from: number): { answer: HttpAnswer; consumed: number } | null {
  const parts: Buffer[] = [];
  let position = from;
  for (;;) {
    const lineEnd = buffer.indexOf(CRLF, position);
    if (lineEnd === -1) return null;
    const size = parseInt(buffer.toString('latin1', position, lineEnd), 16);
    const dataStart = lineEnd + 2;
    if (size === 0) {
      // No trailers are sent by the servers measured: the last chunk ends with one CRLF.
      if (buffer.length < dataStart + 2) return null;
      return { answer: { status, body: Buffer.concat(parts).toString('utf8') }, consumed: dataStart + 2 };
    }
    if (buffer.length < dataStart + size + 2) return null;
    parts.push(buffer.subarray(dataStart, dataStart + size));
    position = dataStart + size + 2;
  }
}

/** The two connections of one polling session. */
export class HttpClient {
  private readonly pollLane: Connection;
  private readonly sendLane: Connection;

  /** `from`: the local address to connect from (see protocols.ts), or the kernel's choice. */
  constructor(port: number, from?: string) {
    this.pollLane = new Connection(port, from);
    this.sendLane = new Connection(port, from);
  }

  /** A GET on the poll connection. */
  get(path: string): Promise<HttpAnswer> {
    return this.pollLane.request('GET', path, '', '');
  }

  /** A POST that is itself a held poll (SockJS xhr). */
  pollPost(path: string): Promise<HttpAnswer> {
    return this.pollLane.request('POST', path, '', 'text/plain');
  }

  /** A POST on the send connection. */
  post(path: string, body: string, contentType: string): Promise<HttpAnswer> {
    return this.sendLane.request('POST', path, body, contentType);
  }

  close(): void {
    this.pollLane.close();
    this.sendLane.close();
  }
}
