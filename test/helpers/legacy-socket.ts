/**
 * io.Socket of the unmodified 0.6 browser client, ported to Node for the cluster tests: the
 * same connect timeout, send queue and reconnect schedule (reconnectionDelay 500 ms, doubled
 * before each attempt, so attempts at about 0.5, 1.5, 3.5, 7.5 s … after the drop; a last
 * attempt after maxReconnectionAttempts, then `reconnect_failed`), over the transports of
 * legacy-transports.ts, with a cookie jar like a browser's (share one jar between clients
 * to play tabs of one browser). Everything is recorded in order for assertions: messages,
 * every session id the client had, events, errors, heartbeats echoed.
 *
 *   const client = await PollingClient.connect(cluster.url);
 *   await client.waitForMessages((m) => m.length >= 300);
 *   client.sessionIds  // one per (re)connect: the server gives a new one today
 *   client.close();
 */
import { CookieJar } from './cookie-jar.js';
import {
  WebSocketTransport,
  XhrPollingTransport,
  type LegacyTransport,
  type LegacyTransportName,
  type TransportHost,
} from './legacy-transports.js';
import { waitFor } from './wait-for.js';

export interface LegacySocketOptions {
  resource?: string;
  /** A jar to share (tabs of one browser); default: a jar of this client's own. */
  jar?: CookieJar;
  /** Default true, as in 0.6. */
  reconnect?: boolean;
  /** Default 500, as in 0.6. */
  reconnectionDelayMs?: number;
  /** Default 10, as in 0.6. */
  maxReconnectionAttempts?: number;
  /** Default 5 000, as in 0.6 (`connectTimeout`). */
  connectTimeoutMs?: number;
  /** Inactivity timeout of the transport; default 0.6's: 25 000 polling, 15 000 websocket. */
  transportTimeoutMs?: number;
  /** Delay before each polling connect; default 100 (WebKit's io.util.defer). */
  deferMs?: number;
  /** Store the client's `socketio=<transport>` cookie on connect, as 0.6 does. Default true. */
  rememberTransport?: boolean;
}

export interface LegacySocketEvent {
  readonly name: string;
  readonly at: number;
  readonly detail?: string;
}

const TIMEOUTS: Record<LegacyTransportName, number> = { 'xhr-polling': 25_000, websocket: 15_000 };

export class LegacySocket implements TransportHost {
  readonly resource: string;
  readonly jar: CookieJar;
  /** Every message received, decoded (text as string, JSON parsed), in order. */
  readonly messages: unknown[] = [];
  /** Every session id this client had, in order (one per successful handshake). */
  readonly sessionIds: string[] = [];
  readonly events: LegacySocketEvent[] = [];
  readonly errors: string[] = [];
  /** Heartbeat numbers received (each echoed), in order. */
  readonly heartbeats: string[] = [];
  /** Reconnect attempts made (each a new handshake), and reconnects that succeeded. */
  reconnectAttempts = 0;
  reconnects = 0;
  isConnected = false;
  isConnecting = false;
  isReconnecting = false;
  protected transport: LegacyTransport;
  private readonly options: Required<Omit<LegacySocketOptions, 'jar' | 'resource'>>;
  private queueStack: unknown[] = [];
  /** The latest connect timeout: 0.6 overwrites the handle without clearing the older one. */
  private connectTimer: NodeJS.Timeout | undefined;
  /** Every timer set, so that close() can stop them (0.6 never clears its reconnect timers). */
  private readonly timers = new Set<NodeJS.Timeout>();
  private reconnection: { attempts: number; delayMs: number; isRedoingTransports: boolean } | undefined;
  private isClosed = false;

  constructor(
    readonly transportName: LegacyTransportName,
    readonly baseUrl: string,
    options: LegacySocketOptions = {},
  ) {
    this.resource = options.resource ?? 'socket.io';
    this.jar = options.jar ?? new CookieJar();
    this.options = {
      reconnect: options.reconnect ?? true,
      reconnectionDelayMs: options.reconnectionDelayMs ?? 500,
      maxReconnectionAttempts: options.maxReconnectionAttempts ?? 10,
      connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
      transportTimeoutMs: options.transportTimeoutMs ?? TIMEOUTS[transportName],
      deferMs: options.deferMs ?? 100,
      rememberTransport: options.rememberTransport ?? true,
    };
    this.transport = this.newTransport();
  }

  /** The session id in use; '' while not connected. */
  get sessionId(): string {
    return this.transport.sessionId ?? '';
  }

  /** io.Socket.prototype.connect (one transport: a connect timeout just fails). */
  connect(): this {
    if (this.isClosed || this.isConnected) return this;
    if (this.isConnecting) this.disconnect(true);
    this.isConnecting = true;
    this.record('connecting');
    this.transport.connect();
    this.connectTimer = this.later(() => {
      if (this.isConnected) return;
      this.disconnect(true);
      this.record('connect_failed');
      if (this.reconnection?.isRedoingTransports === true) this.maybeReconnect();
    }, this.options.connectTimeoutMs);
    return this;
  }

  /** Queued while not connected (and dropped by a disconnect), as in 0.6. */
  send(value: unknown): this {
    if (!this.transport.isConnected) this.queueStack.push(value);
    else this.transport.send(value);
    return this;
  }

  /** `soft` keeps reconnecting on; a hard disconnect turns it off (io.Socket.prototype.disconnect). */
  disconnect(soft = false): this {
    clearTimeout(this.connectTimer);
    if (!soft) this.options.reconnect = false;
    this.transport.disconnect();
    return this;
  }

  /** Test cleanup: stops everything, no further events. */
  close(): void {
    this.isClosed = true;
    this.options.reconnect = false;
    this.timers.forEach((timer) => clearTimeout(timer));
    this.transport.destroy();
  }

  /** Text messages received, in order. */
  texts(): string[] {
    return this.messages.filter((message): message is string => typeof message === 'string');
  }

  async waitForConnect(timeoutMs = 8_000): Promise<string> {
    await waitFor(() => this.isConnected, { timeoutMs, what: `the ${this.transportName} client to connect` });
    return this.sessionId;
  }

  async waitForMessages(
    predicate: (messages: unknown[]) => boolean,
    timeoutMs = 8_000,
    what = 'messages',
  ): Promise<void> {
    await waitFor(() => predicate(this.messages), { timeoutMs, what: `${what} on ${this.transportName}` });
  }

  // ── TransportHost: what the transport reports ───────────────────────────────────────

  onConnect(): void {
    this.isConnected = true;
    this.isConnecting = false;
    this.sessionIds.push(this.sessionId);
    const queued = this.queueStack;
    this.queueStack = [];
    if (queued.length > 0) this.transport.send(queued);
    if (this.options.rememberTransport) this.jar.store(`socketio=${this.transportName}`, `${this.baseUrl}/`);
    this.record('connect', this.sessionId);
    if (this.reconnection !== undefined) this.maybeReconnect();
  }

  onDisconnect(): void {
    const wasConnected = this.isConnected;
    this.isConnected = false;
    this.isConnecting = false;
    this.queueStack = [];
    if (!wasConnected || this.isClosed) return;
    this.record('disconnect');
    if (this.options.reconnect && this.reconnection === undefined) this.startReconnecting();
  }

  onMessage(value: unknown): void {
    this.messages.push(value);
  }

  onHeartbeat(heartbeat: string): void {
    this.heartbeats.push(heartbeat);
  }

  onError(error: string): void {
    this.errors.push(error);
    this.record('error', error);
  }

  // ── io.Socket.prototype.onReconnect ─────────────────────────────────────────────────

  private startReconnecting(): void {
    this.isReconnecting = true;
    this.reconnection = { attempts: 0, delayMs: this.options.reconnectionDelayMs, isRedoingTransports: false };
    this.later(() => this.maybeReconnect(), this.reconnection.delayMs);
  }

  /**
   * One step of 0.6's maybeReconnect: wait while connecting, else try again with a doubled
   * delay. As in 0.6, a timer of an earlier reconnection that is still pending calls it too.
   */
  private maybeReconnect(): void {
    const state = this.reconnection;
    if (state === undefined || this.isClosed) return;
    if (this.isConnected) return this.endReconnecting(true);
    if (this.isConnecting) {
      this.later(() => this.maybeReconnect(), 1_000);
      return;
    }
    if (state.attempts++ >= this.options.maxReconnectionAttempts) {
      if (state.isRedoingTransports) {
        this.record('reconnect_failed');
        return this.endReconnecting(false);
      }
      // The last try: the transports again from the top (one here), until a connect fails.
      state.isRedoingTransports = true;
      this.transport = this.newTransport();
      this.reconnectAttempts++;
      this.connect();
      return;
    }
    state.delayMs *= 2;
    this.reconnectAttempts++;
    this.connect();
    this.record('reconnecting', `${state.delayMs} ms, attempt ${state.attempts}`);
    this.later(() => this.maybeReconnect(), state.delayMs);
  }

  private endReconnecting(isReconnected: boolean): void {
    if (isReconnected) {
      this.reconnects++;
      this.record('reconnect', `${this.transportName}, attempt ${this.reconnection?.attempts ?? 0}`);
    }
    this.reconnection = undefined;
    this.isReconnecting = false;
  }

  /**
   * One deviation from 0.6: the transport replaced by the last try is destroyed; 0.6 leaves it
   * with its inactivity timer, which could later disconnect the new one (after minutes of
   * failed attempts, beyond any test).
   */
  private newTransport(): LegacyTransport {
    const options = { timeoutMs: this.options.transportTimeoutMs, deferMs: this.options.deferMs };
    this.transport?.destroy();
    return this.transportName === 'websocket'
      ? new WebSocketTransport(this, options)
      : new XhrPollingTransport(this, options);
  }

  private later(callback: () => void, ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      callback();
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  private record(name: string, detail?: string): void {
    this.events.push(detail === undefined ? { name, at: Date.now() } : { name, at: Date.now(), detail });
  }
}

/** The 0.6 client on xhr-polling (long polls, form-encoded POSTs). */
export class PollingClient extends LegacySocket {
  constructor(baseUrl: string, options: LegacySocketOptions = {}) {
    super('xhr-polling', baseUrl, options);
  }

  /** Connects and waits for the first session id. */
  static async connect(baseUrl: string, options: LegacySocketOptions = {}): Promise<PollingClient> {
    const client = new PollingClient(baseUrl, options).connect();
    await client.waitForConnect();
    return client;
  }

  /** True once a POST was cut by a disconnect: 0.6's xhr-polling never POSTs again then. */
  get isSendStuck(): boolean {
    return (this.transport as XhrPollingTransport).isSendStuck;
  }
}

/** The 0.6 client on websocket. */
export class WebSocketClient extends LegacySocket {
  constructor(baseUrl: string, options: LegacySocketOptions = {}) {
    super('websocket', baseUrl, options);
  }

  static async connect(baseUrl: string, options: LegacySocketOptions = {}): Promise<WebSocketClient> {
    const client = new WebSocketClient(baseUrl, options).connect();
    await client.waitForConnect();
    return client;
  }
}
