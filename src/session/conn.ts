/**
 * One Socket.IO 0.6 session, whatever transport carries it.
 *
 *                 attach (handshake frame + queue)
 *   connecting ─────────────────────────────────▶ open ◀──────────────┐
 *       │                                          │                   │ attach
 *       │                                          │ detach            │ (queue flushed
 *       │                                          ▼                   │  as one payload)
 *       │                                      detached ───────────────┘
 *       │                                          │
 *       │              reconnectWindowMs expires,  │
 *       ▼              close(), heartbeat missed,  ▼
 *    closed ◀───────── queue overflow (policy 'close'), malformed payload
 *
 * The Conn owns every session timer: heartbeats (persistent transports only), the heartbeat
 * deadline and the reconnect window. It holds at most one of them at a time, so it keeps a
 * single timer slot. Transports only call `attach`, `detach`, `receive` and `onDrain`.
 *
 * Sends go straight to the transport while it is attached, writable and nothing waits
 * before them; otherwise they wait in a bounded SendQueue and go out, in order and as one
 * payload, on the next attach or drain.
 */
import { EventEmitter } from 'node:events';
import type { Codec, InboundMessage, PayloadDecoder } from '../codecs/types.js';
import { RealtimeError } from '../errors.js';
import type { Transport, TransportName } from '../transports/types.js';
import { encodeValue, PreparedMessage, type EncodedFrame } from './prepared.js';
import { SendQueue, type SendQueueLimits } from './send-queue.js';
import type { Member } from './member.js';

export type ConnState = 'connecting' | 'open' | 'detached' | 'closed';

/** Why a session ended. */
export type DisconnectReason =
  /** `conn.close()` or `server.close()` */
  | 'server'
  /** no transport came back within `reconnectWindowMs` */
  | 'window-expired'
  /** a heartbeat was not echoed within `heartbeatTimeoutMs` */
  | 'heartbeat-timeout'
  /** the send queue overflowed under the `close` policy (slow consumer) */
  | 'queue-overflow'
  /** the client sent a payload that could not be decoded */
  | 'protocol-error'
  /** the client said goodbye (the streaming codec's disconnect message) */
  | 'client'
  /** graceful shutdown of the server */
  | 'shutdown';

export interface DisconnectInfo {
  readonly reason: DisconnectReason;
  /** Frames the queue had accepted and could not deliver; 0 unless something was lost. */
  readonly lostMessages: number;
  readonly error?: RealtimeError;
}

/** What to do when the send queue is full. */
export type QueueOverflowPolicy = 'refuse' | 'close';

export interface SessionOptions extends SendQueueLimits {
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly reconnectWindowMs: number;
  readonly queueOverflow: QueueOverflowPolicy;
  /** Longest frame accepted from the client, in the codec's length unit. */
  readonly maxFrameLength: number;
  readonly codec: Codec;
}

/** How a Conn reports to the server that owns it. */
export interface ConnHooks {
  onOpen(conn: Conn): void;
  onMessage(conn: Conn, data: unknown): void;
  onClose(conn: Conn, info: DisconnectInfo): void;
  onError(conn: Conn, error: RealtimeError): void;
}

export type SendResult = { readonly ok: true } | { readonly ok: false; readonly error: RealtimeError };

export interface ConnEvents {
  message: [data: unknown];
  disconnect: [info: DisconnectInfo];
  error: [error: RealtimeError];
}

const SENT: SendResult = Object.freeze({ ok: true });

export class Conn extends EventEmitter<ConnEvents> implements Member {
  private stateValue: ConnState = 'connecting';
  private current: Transport | null = null;
  private lastTransport: TransportName;
  /** Made on first need: most websocket sessions never queue anything. */
  private queue: SendQueue | null = null;
  private isBackpressured = false;
  private heartbeatCounter = 0;
  /** The heartbeat number awaiting its echo, or 0. */
  private awaitedHeartbeat = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly decoder: PayloadDecoder;

  constructor(
    readonly sessionId: string,
    transport: TransportName,
    readonly remoteAddress: string,
    private readonly options: SessionOptions,
    private readonly hooks: ConnHooks,
  ) {
    super();
    this.lastTransport = transport;
    this.decoder = options.codec.createDecoder({ maxFrameLength: options.maxFrameLength });
  }

  /** The member id used by rooms and fan-out: the session id. */
  get id(): string {
    return this.sessionId;
  }

  get state(): ConnState {
    return this.stateValue;
  }

  get isOpen(): boolean {
    return this.stateValue === 'open' || this.stateValue === 'detached';
  }

  /** The transport now attached, or the last one that was. */
  get transport(): TransportName {
    return this.lastTransport;
  }

  get codec(): Codec {
    return this.options.codec;
  }

  /** Frames waiting for a transport. */
  get queuedMessages(): number {
    return this.queue?.length ?? 0;
  }

  /** Sends refused (or fatal) because the queue was full. */
  get queueOverflows(): number {
    return this.queue?.overflows ?? 0;
  }

  /**
   * Sends one message: a string as a text frame, anything else as JSON (`~j~`), with
   * `null` and `undefined` as JSON `null`. Never throws; a refusal comes back as an error.
   */
  send(value: unknown): SendResult {
    if (value instanceof PreparedMessage) return this.deliver(value);
    // One recipient: encode directly, without a PreparedMessage and its per-format cache.
    let encoded: EncodedFrame;
    try {
      encoded = encodeValue(this.options.codec, value);
    } catch (error) {
      return { ok: false, error: error as RealtimeError };
    }
    return this.sendFrame(encoded.frame, encoded.bytes);
  }

  /** Sends a message prepared once for many recipients (fan-out). */
  deliver(message: PreparedMessage): SendResult {
    let encoded: EncodedFrame;
    try {
      encoded = message.encodedFor(this.options.codec);
    } catch (error) {
      return { ok: false, error: error as RealtimeError };
    }
    return this.sendFrame(encoded.frame, encoded.bytes, message);
  }

  /** Ends the session at once: what can be flushed is flushed, the rest is reported lost. */
  close(reason: DisconnectReason = 'server', error?: RealtimeError): void {
    if (this.stateValue === 'closed') return;
    this.flush();
    this.stateValue = 'closed';
    this.clearTimer();
    const lostMessages = this.queue?.drain().frames.length ?? 0;
    const transport = this.current;
    this.current = null;
    transport?.close(error?.closeCode ?? (reason === 'shutdown' ? 1001 : 1000), reason);
    const info: DisconnectInfo = error === undefined ? { reason, lostMessages } : { reason, lostMessages, error };
    this.hooks.onClose(this, info);
    this.emit('disconnect', info);
  }

  // ── Transport side ────────────────────────────────────────────────────────────────────

  /** A transport now carries this session (a new socket, a new poll, a stream). */
  attach(transport: Transport): void {
    if (this.stateValue === 'closed') {
      transport.close(1000, 'session closed');
      return;
    }
    const previous = this.current;
    this.clearTimer();
    this.awaitedHeartbeat = 0;
    this.current = transport;
    this.lastTransport = transport.name;
    this.isBackpressured = false;
    // The newer request wins; the older one is ended normally (an empty poll answer).
    if (previous !== null && previous !== transport) previous.close(1000, 'superseded');
    if (this.stateValue === 'connecting') {
      this.open(transport);
    } else {
      this.stateValue = 'open';
      this.flush();
    }
    if (this.current === transport) this.scheduleHeartbeat();
  }

  /** The transport ended (socket closed, poll answered, stream cut). */
  detach(transport: Transport): void {
    if (transport !== this.current) return;
    this.current = null;
    this.isBackpressured = false;
    if (this.stateValue === 'closed') return;
    this.stateValue = 'detached';
    this.awaitedHeartbeat = 0;
    this.setTimer(expireWindow, this.options.reconnectWindowMs);
  }

  /** The transport can take more after a 'buffered' write. */
  onDrain(transport: Transport): void {
    if (transport !== this.current) return;
    this.isBackpressured = false;
    this.flush();
  }

  /**
   * One payload from the client. Every frame is handled, heartbeat echoes included. A
   * payload that does not decode is refused whole: nothing of it is delivered, and the
   * error comes back for the transport to answer (400, or close 1007).
   */
  receive(payload: string): RealtimeError | null {
    if (this.stateValue === 'closed') return new RealtimeError('ERR_SESSION_CLOSED', 'the session is closed');
    const result = this.decoder.push(payload);
    if (!result.ok) {
      this.hooks.onError(this, result.error);
      return result.error;
    }
    for (const message of result.value) {
      // A message handler may have closed the session; the rest of the payload is moot.
      if (this.state === 'closed') break;
      this.handle(message);
    }
    return null;
  }

  // ── Internals ─────────────────────────────────────────────────────────────────────────

  private open(transport: Transport): void {
    this.stateValue = 'open';
    let payload = this.options.codec.encodeHandshake(this.sessionId);
    if (this.queue !== null && this.queue.length > 0) payload += this.queue.drain().frames.join('');
    if (transport.write(payload) === 'buffered' && this.current === transport) this.isBackpressured = true;
    this.hooks.onOpen(this);
  }

  private handle(message: InboundMessage): void {
    switch (message.type) {
      case 'heartbeat':
        if (this.awaitedHeartbeat !== 0 && Number(message.data) === this.awaitedHeartbeat) {
          this.awaitedHeartbeat = 0;
          this.clearTimer();
          this.scheduleHeartbeat();
        }
        return;
      case 'text':
      case 'json':
        this.hooks.onMessage(this, message.data);
        return;
      case 'json-invalid':
        // `~j~` followed by bad JSON is most likely a text message that starts with "~j~":
        // the protocol has no escaping. Deliver it as the text it was.
        this.hooks.onMessage(this, '~j~' + message.data);
        return;
      case 'disconnect':
        this.close('client');
        return;
      case 'handshake':
        return;
    }
  }

  /** `shared`: the prepared message `frame` encodes, handed to the transport for its wire cache. */
  private sendFrame(frame: string, bytes: number, shared?: PreparedMessage): SendResult {
    if (this.stateValue === 'closed') {
      return { ok: false, error: new RealtimeError('ERR_SESSION_CLOSED', 'the session is closed') };
    }
    const transport = this.current;
    if (transport !== null && !this.isBackpressured && (this.queue === null || this.queue.length === 0)) {
      const result = transport.write(frame, shared);
      if (result === 'written') return SENT;
      if (result === 'buffered') {
        if (this.current === transport) this.isBackpressured = true;
        return SENT;
      }
      // 'closed': the transport is gone without having taken the frame; keep it.
    }
    return this.enqueue(frame, bytes);
  }

  private enqueue(frame: string, bytes: number): SendResult {
    this.queue ??= new SendQueue(this.options);
    if (this.queue.push(frame, bytes)) return SENT;
    const limits = `${this.options.maxQueueMessages} messages / ${this.options.maxQueueBytes} bytes`;
    if (this.options.queueOverflow === 'refuse') {
      return { ok: false, error: new RealtimeError('ERR_QUEUE_FULL', `send queue full (${limits})`) };
    }
    const error = new RealtimeError('ERR_QUEUE_OVERFLOW', `send queue overflowed (${limits}): slow consumer`);
    this.close('queue-overflow', error);
    return { ok: false, error };
  }

  private flush(): void {
    const transport = this.current;
    if (transport === null || this.isBackpressured || this.queue === null || this.queue.length === 0) return;
    const { frames, bytes } = this.queue.drain();
    const result = transport.write(frames.join(''));
    if (result === 'closed') this.queue.unshift(frames, bytes);
    else if (result === 'buffered' && this.current === transport) this.isBackpressured = true;
  }

  private scheduleHeartbeat(): void {
    if (this.options.heartbeatIntervalMs > 0 && this.current?.persistent === true) {
      this.setTimer(sendHeartbeat, this.options.heartbeatIntervalMs);
    }
  }

  /** @internal timer callback */
  heartbeatDue(): void {
    this.timer = null;
    this.heartbeatCounter++;
    this.awaitedHeartbeat = this.heartbeatCounter;
    const result = this.sendFrame(
      this.options.codec.encodeHeartbeat(this.heartbeatCounter),
      0, // heartbeats are tiny and must not be refused by the byte bound alone
    );
    if (!result.ok) {
      this.close('queue-overflow', result.error);
      return;
    }
    if (this.options.heartbeatTimeoutMs > 0) this.setTimer(missHeartbeat, this.options.heartbeatTimeoutMs);
  }

  private setTimer(callback: (conn: Conn) => void, delayMs: number): void {
    this.clearTimer();
    this.timer = setTimeout(callback, delayMs, this);
  }

  private clearTimer(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }
}

// Module-level timer callbacks: no closure per session.
function sendHeartbeat(conn: Conn): void {
  conn.heartbeatDue();
}

function missHeartbeat(conn: Conn): void {
  conn.close(
    'heartbeat-timeout',
    new RealtimeError('ERR_HEARTBEAT_TIMEOUT', 'the client did not answer a heartbeat in time'),
  );
}

function expireWindow(conn: Conn): void {
  conn.close('window-expired');
}
