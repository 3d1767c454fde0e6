/**
 * The xhr-polling and websocket transports of the unmodified 0.6 browser client
 * (socket.io-legacy/support/socket.io-client/socket.io.js: io.Transport, io.Transport.XHR,
 * io.Transport['xhr-polling'], io.Transport.websocket), ported line for line to Node so that
 * a test client fails exactly as the browser does, with a browser's cookie jar on every
 * request and on the websocket handshake. Quirks kept on purpose, because the server meets
 * them in browsers:
 *
 * - Any answer other than 200 to a poll or a POST, and any network error, disconnects the
 *   transport (the socket then reconnects with a NEW handshake: the session id is dropped).
 * - A POST still in flight when the transport disconnects is aborted without clearing
 *   `posting`, so this transport never POSTs again (`isSendStuck`): 0.6's XHR.onDisconnect.
 * - The inactivity timeout (25 s polling, 15 s websocket, from the last data) is not
 *   cleared on disconnect; a websocket timed out is left open (Transport.onDisconnect).
 * - WebKit defers each xhr-polling connect by 100 ms (io.util.defer); `deferMs` keeps that.
 */
import { Agent, request, type IncomingMessage } from 'node:http';
import { WebSocket } from 'ws';
import { decodeFrames, encode, HEARTBEAT_MARKER, JSON_MARKER } from '../../src/codecs/sio.js';
import type { CookieJar } from './cookie-jar.js';

export type LegacyTransportName = 'xhr-polling' | 'websocket';

/** What a transport needs of its socket (io.Socket's side of the seam). */
export interface TransportHost {
  readonly baseUrl: string;
  readonly resource: string;
  readonly jar: CookieJar;
  onConnect(): void;
  onDisconnect(): void;
  onMessage(value: unknown): void;
  onHeartbeat(heartbeat: string): void;
  onError(error: string): void;
}

export interface TransportOptions {
  /** Inactivity timeout: io.Transport's `timeout` (25 000 polling, 15 000 websocket). */
  timeoutMs: number;
  /** Delay before each xhr-polling connect (io.util.defer in WebKit: 100 ms). */
  deferMs: number;
}

/** io.Transport: decoding, the session id from the first message, heartbeats, the timeout. */
export abstract class LegacyTransport {
  abstract readonly type: LegacyTransportName;
  sessionId: string | null = null;
  isConnected = false;
  private timeout: NodeJS.Timeout | undefined;

  constructor(
    protected readonly host: TransportHost,
    protected readonly options: TransportOptions,
  ) {}

  abstract connect(): void;
  abstract send(values: unknown): void;
  abstract disconnect(): void;
  /** Test cleanup: stops every timer and socket without telling the host. */
  abstract destroy(): void;

  protected onData(data: string): void {
    this.setTimeout();
    const frames = decodeFrames(data);
    if (!frames.ok) {
      // The browser's decode keeps what it could read; a strict decode tells the test instead.
      this.host.onError(`undecodable payload: ${frames.error.message}`);
      return;
    }
    for (const message of frames.value) this.onMessage(message);
  }

  /** io.Transport.prototype.onMessage */
  private onMessage(message: string): void {
    if (this.sessionId === null) {
      this.sessionId = message;
      this.onConnect();
    } else if (message.startsWith(HEARTBEAT_MARKER)) {
      const heartbeat = message.slice(HEARTBEAT_MARKER.length);
      this.host.onHeartbeat(heartbeat);
      this.send(HEARTBEAT_MARKER + heartbeat); // echo
    } else if (message.startsWith(JSON_MARKER)) {
      this.host.onMessage(JSON.parse(message.slice(JSON_MARKER.length)));
    } else {
      this.host.onMessage(message);
    }
  }

  private onConnect(): void {
    this.isConnected = true;
    this.host.onConnect();
    this.setTimeout();
  }

  /** io.Transport.prototype.onDisconnect: the timeout keeps running (0.6 never clears it). */
  protected onDisconnect(): void {
    this.isConnected = false;
    this.sessionId = null;
    this.host.onDisconnect();
  }

  private setTimeout(): void {
    clearTimeout(this.timeout);
    this.timeout = setTimeout(() => {
      this.host.onError(`no data for ${this.options.timeoutMs} ms`);
      this.onDisconnect();
    }, this.options.timeoutMs);
  }

  protected clearTimers(): void {
    clearTimeout(this.timeout);
  }

  protected url(scheme: 'http' | 'ws'): string {
    const base = scheme === 'ws' ? this.host.baseUrl.replace(/^http/, 'ws') : this.host.baseUrl;
    const session = this.sessionId !== null ? `/${this.sessionId}` : scheme === 'http' ? '/' : '';
    return `${base}/${this.host.resource}/${this.type}${session}`;
  }
}

/** An XMLHttpRequest's outcome: status 0 for a network error or an answer cut short. */
interface XhrResult {
  status: number;
  body: string;
}

/** One request as XHR makes it, cookies from and into the jar; `abort()` makes it silent. */
function xhr(agent: Agent, jar: CookieJar, method: 'GET' | 'POST', url: string, body?: string) {
  let isAborted = false;
  let abort = () => undefined as void;
  const promise = new Promise<XhrResult>((resolve) => {
    const headers: Record<string, string> = {};
    const cookie = jar.header(url);
    if (cookie !== undefined) headers.Cookie = cookie;
    if (body !== undefined) headers['Content-Type'] = 'application/x-www-form-urlencoded; charset=utf-8';
    const req = request(url, { method, agent, headers }, (res: IncomingMessage) => {
      jar.store(res.headers['set-cookie'], url);
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('aborted', () => resolve({ status: 0, body: '' }));
      res.on('error', () => resolve({ status: 0, body: '' }));
    });
    req.on('error', () => resolve({ status: 0, body: '' }));
    abort = () => {
      isAborted = true;
      req.destroy();
    };
    req.end(body);
  });
  return { promise: promise.then((result) => (isAborted ? undefined : result)), abort: () => abort() };
}

type Xhr = ReturnType<typeof xhr>;

/** io.Transport.XHR + io.Transport['xhr-polling']. */
export class XhrPollingTransport extends LegacyTransport {
  readonly type = 'xhr-polling' as const;
  private sendBuffer: unknown[] = [];
  private isPosting = false;
  private poll: Xhr | undefined;
  private post: Xhr | undefined;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 6 });
  private readonly deferred = new Set<NodeJS.Timeout>();

  /** True once a POST was aborted by a disconnect: 0.6 never clears `posting` then. */
  get isSendStuck(): boolean {
    return this.isPosting && this.post === undefined;
  }

  connect(): void {
    const timer = setTimeout(() => {
      this.deferred.delete(timer);
      this.get();
    }, this.options.deferMs);
    this.deferred.add(timer);
  }

  send(values: unknown): void {
    if (Array.isArray(values)) this.sendBuffer.push(...values);
    else this.sendBuffer.push(values);
    this.checkSend();
  }

  disconnect(): void {
    this.onDisconnect();
  }

  destroy(): void {
    this.abortRequests();
    this.deferred.forEach((timer) => clearTimeout(timer));
    this.clearTimers();
    this.agent.destroy();
  }

  protected override onDisconnect(): void {
    this.abortRequests();
    this.sendBuffer = [];
    super.onDisconnect();
  }

  private abortRequests(): void {
    this.poll?.abort();
    this.poll = undefined;
    this.post?.abort();
    this.post = undefined;
  }

  /** XHRPolling.prototype.get: 200 → data, then the next poll; anything else → disconnect. */
  private get(): void {
    const poll = xhr(this.agent, this.host.jar, 'GET', `${this.url('http')}/${Date.now()}`);
    this.poll = poll;
    void poll.promise.then((result) => {
      if (result === undefined) return;
      if (result.status === 200) {
        this.onData(result.body);
        this.get();
      } else {
        this.host.onError(`poll answered ${result.status} ${result.body.slice(0, 120)}`);
        this.onDisconnect();
      }
    });
  }

  private checkSend(): void {
    if (this.isPosting || this.sendBuffer.length === 0) return;
    const encoded = encode(this.sendBuffer);
    this.sendBuffer = [];
    this.sendIORequest(encoded);
  }

  /** XHR.prototype.sendIORequest: 200 → send what waits; anything else → disconnect. */
  private sendIORequest(data: string): void {
    this.isPosting = true;
    const post = xhr(this.agent, this.host.jar, 'POST', `${this.url('http')}/send`, `data=${encodeURIComponent(data)}`);
    this.post = post;
    void post.promise.then((result) => {
      if (result === undefined) return;
      this.isPosting = false;
      if (result.status === 200) {
        this.checkSend();
      } else {
        this.host.onError(`POST answered ${result.status} ${result.body.slice(0, 120)}`);
        this.onDisconnect();
      }
    });
  }
}

/** io.Transport.websocket, with the jar's cookies on the handshake and its Set-Cookie kept. */
export class WebSocketTransport extends LegacyTransport {
  readonly type = 'websocket' as const;
  private socket: WebSocket | undefined;
  private readonly sockets = new Set<WebSocket>();

  connect(): void {
    const url = this.url('ws');
    const cookie = this.host.jar.header(url);
    const socket = new WebSocket(url, cookie === undefined ? {} : { headers: { Cookie: cookie } });
    this.socket = socket;
    this.sockets.add(socket);
    socket.on('upgrade', (res) => this.host.jar.store(res.headers['set-cookie'], url));
    socket.on('unexpected-response', (_req, res) => {
      this.host.jar.store(res.headers['set-cookie'], url);
      this.host.onError(`websocket handshake answered ${res.statusCode ?? 0}`);
      socket.terminate();
    });
    socket.on('message', (data) => this.onData(data.toString()));
    socket.on('error', (error) => this.host.onError(`websocket error: ${error.message}`));
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.onDisconnect();
    });
  }

  /** A browser discards what is sent on a socket that is not open (no exception). */
  send(values: unknown): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(encode(Array.isArray(values) ? values : [values]));
  }

  disconnect(): void {
    this.socket?.close();
  }

  destroy(): void {
    this.clearTimers();
    for (const socket of this.sockets) {
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.terminate();
    }
    this.sockets.clear();
  }
}
