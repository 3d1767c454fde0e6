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
 *
 * Delivery: a transport that `confirmsDelivery` settles every write. Until then the frames
 * stay listed as unsettled; a write that fails (the socket died before taking the bytes)
 * puts its frames, and every later unsettled frame of that transport, back at the head of
 * the queue in order, and the transport counts as gone. So a frame is sent again only when
 * it never reached the socket: no duplicates, and what is lost is counted.
 */
import { EventEmitter } from 'node:events';
import type { DisconnectInfo, DisconnectReason, QueueOverflowPolicy, SendResult } from '../hub/results.js';
import type { Codec, InboundMessage, PayloadDecoder } from '../codecs/types.js';
import { RealtimeError } from '../errors.js';
import type { Transport, TransportName, WriteResult } from './transport.js';
import { encodeValue, PreparedMessage, type EncodedFrame } from '../hub/prepared.js';
import { DeliveryLedger } from './delivery-ledger.js';
import { SendQueue, type SendQueueLimits } from './send-queue.js';
import { overflow } from '../wire/overflow.js';
import { allowOne, type Bucket } from '../http/rate-limit.js';
import type { Member } from '../hub/member.js';
import type { TimerList, TimerLists } from '../hub/timer-lists.js';
import type { Instruments } from '../hub/instruments.js';

export type ConnState = 'connecting' | 'open' | 'detached' | 'closed';

export interface SessionOptions extends SendQueueLimits {
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly reconnectWindowMs: number;
  readonly queueOverflow: QueueOverflowPolicy;
  /** Longest frame accepted from the client, in the codec's length unit. */
  readonly maxFrameLength: number;
  /** Deepest nesting of a client's JSON message; deeper is refused (ERR_JSON_TOO_DEEP). */
  readonly maxJsonDepth: number;
  /** Messages per second from the client; over it they are dropped and counted. 0 = no limit. */
  readonly maxMessagesPerSecond: number;
  readonly codec: Codec;
}

/** How a Conn reports to the server that owns it. */
export interface ConnHooks {
  /** The timers of the server's sessions (one Node timer per delay, not one per session). */
  readonly timers: TimerLists<Conn>;
  /** A decoder every session can share, when the codec's keeps no state (SIO's). */
  readonly sharedDecoder?: PayloadDecoder;
  /** Counts messages in, out and lost, and overflows (family `socketio06`). */
  readonly instruments: Instruments;
  onOpen(conn: Conn): void;
  onMessage(conn: Conn, data: unknown): void;
  onClose(conn: Conn, info: DisconnectInfo): void;
  onError(conn: Conn, error: RealtimeError): void;
}

export interface ConnEvents {
  message: [data: unknown];
  disconnect: [info: DisconnectInfo];
  error: [error: RealtimeError];
}

const SENT: SendResult = Object.freeze({ ok: true });
/** This family's name on the instrumentation seam. */
const FAMILY = 'socketio06';

export class Conn extends EventEmitter<ConnEvents> implements Member {
  private stateValue: ConnState = 'connecting';
  private current: Transport | null = null;
  private lastTransport: TransportName;
  /** Made on first need: most websocket sessions never queue anything. */
  private queue: SendQueue | null = null;
  private isBackpressured = false;
  /** Frames the `drop-oldest` policy dropped to make room: lost, and reported as such. */
  private droppedMessages = 0;
  /** The inbound rate's bucket, made on the first message when `maxMessagesPerSecond` is set. */
  /** @internal (RateHolder) */
  inboundBucket: Bucket | null = null;
  /** Client messages dropped for going over `maxMessagesPerSecond`. */
  rateLimitedMessages = 0;
  /** Messages from the client handed to the application. */
  messagesReceived = 0;
  /** Messages accepted for the client (written, or queued for it). */
  messagesSent = 0;
  /** When the session was made (ms since the epoch). */
  readonly openedAt = Date.now();
  private heartbeatCounter = 0;
  /** The heartbeat number awaiting its echo, or 0. */
  private awaitedHeartbeat = 0;
  /** The one timer slot: the list this session is armed in, if any. */
  private timer: TimerList<Conn> | null = null;
  /** Set by `shutdown`: the session ends as soon as its queue is out. */
  private isDraining = false;
  private readonly decoder: PayloadDecoder;
  /** Writes to transports that confirm delivery, until settled. Made on the first such write. */
  private ledger: DeliveryLedger | null = null;

  constructor(
    readonly sessionId: string,
    transport: TransportName,
    readonly remoteAddress: string,
    private readonly options: SessionOptions,
    private readonly hooks: ConnHooks,
    /** The `Origin` of the request that made the session, when it had one. */
    readonly origin?: string,
  ) {
    // Rejections of async listeners come back through captureRejectionSymbol, not as crashes.
    super({ captureRejections: true });
    // EventEmitter starts every instance with a dictionary-mode `_events` object (about 190
    // bytes); Node creates it on the first `on()` when it is undefined. Few applications
    // listen on a session itself, and this is memory every idle session pays.
    (this as unknown as { _events: undefined })._events = undefined;
    this.lastTransport = transport;
    this.decoder = hooks.sharedDecoder ?? options.codec.createDecoder(options);
  }

  /** @internal EventEmitter calls this with the rejection of an async listener. */
  override [EventEmitter.captureRejectionSymbol](error: Error, ..._event: unknown[]): void {
    this.reportHandlerFailure(error);
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
    const unsent = this.queue?.drain().frames.length ?? 0;
    if (unsent > 0) this.hooks.instruments.lost(FAMILY, 'closed', unsent);
    const lostMessages = unsent + this.droppedMessages;
    const transport = this.current;
    this.current = null;
    transport?.close(error?.closeCode ?? (reason === 'shutdown' ? 1001 : 1000), reason);
    const unsettledMessages = this.ledger?.unsettledFrames ?? 0;
    const counts = unsettledMessages > 0 ? { reason, lostMessages, unsettledMessages } : { reason, lostMessages };
    const info: DisconnectInfo = error === undefined ? counts : { ...counts, error };
    this.hooks.onClose(this, info);
    // A throwing 'disconnect' listener must not escape into the timer or transport that closed us.
    try {
      this.emit('disconnect', info);
    } catch (error) {
      this.reportHandlerFailure(error);
    }
  }

  /** @internal an application listener on this session threw or rejected. */
  reportHandlerFailure(error: unknown): void {
    const wrapped =
      error instanceof RealtimeError
        ? error
        : new RealtimeError('ERR_HANDLER_FAILED', `a session listener failed: ${String(error)}`, { cause: error });
    this.hooks.onError(this, wrapped);
  }

  /**
   * Graceful shutdown: says goodbye where the codec has a way to (streaming: `0:0:,`),
   * hands every queued frame to the transport (past backpressure: the socket buffers it)
   * and ends the session, closing a websocket with 1001. A detached session with frames
   * waiting stays until its next poll takes them; the server bounds that wait.
   */
  shutdown(): void {
    if (this.stateValue === 'closed' || this.isDraining) return;
    this.isDraining = true;
    const goodbye = this.options.codec.encodeDisconnect?.();
    if (goodbye !== undefined) this.enqueue(goodbye, 0);
    if (this.current === null && this.queuedMessages > 0 && this.stateValue === 'detached') return;
    this.isBackpressured = false;
    this.close('shutdown');
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
    this.ledger?.attached(transport);
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
    if (this.isDraining) {
      this.isBackpressured = false;
      this.close('shutdown');
    } else if (this.current === transport) this.scheduleHeartbeat();
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
   * The outcome of one write to a transport that `confirmsDelivery`, in write order. A failed
   * write means the transport is dead: its unsettled frames go back to the head of the queue
   * (or, once the session is closed, are reported lost as an ERR_DELIVERY_FAILED error).
   */
  settle(transport: Transport, delivered: boolean): void {
    const outcome = this.ledger?.settle(transport, delivered, this.current) ?? null;
    if (outcome === null || outcome === false) return;
    // The last older write was delivered: what waited behind it may go.
    if (outcome === true) {
      if (this.stateValue !== 'closed') this.flush();
      return;
    }
    const { frames, bytes } = outcome;
    if (this.stateValue === 'closed') {
      if (frames.length === 0) return;
      this.hooks.instruments.lost(FAMILY, 'undelivered', frames.length);
      const message = `${frames.length} frames accepted before the session closed were not delivered`;
      this.hooks.onError(this, new RealtimeError('ERR_DELIVERY_FAILED', message));
      return;
    }
    this.queue ??= new SendQueue(this.options);
    this.queue.unshift(frames, bytes);
    // Nothing more may go to a dead transport, or it would overtake the frames just re-queued.
    this.detach(transport);
    this.flush();
  }

  /**
   * One payload from the client. Every frame is handled, heartbeat echoes included. A
   * payload that does not decode is refused whole: nothing of it is delivered, and the
   * error comes back for the transport to answer (400, or close 1007).
   */
  receive(payload: string): RealtimeError | null {
    if (this.stateValue === 'closed') return new RealtimeError('ERR_CLOSED', 'the session is closed');
    const result = this.decoder.push(payload);
    if (!result.ok) {
      this.hooks.onError(this, result.error);
      return result.error;
    }
    for (const message of result.value) {
      // A message handler may have closed the session; the rest of the payload is moot.
      if (this.state === 'closed') break;
      try {
        this.handle(message);
      } catch (cause) {
        // The fault boundary of one inbound message: application code is guarded where it
        // runs, so whatever gets here is ours (measuring, dispatch). The client hears of it,
        // the process and every other session go on.
        const error = new RealtimeError('ERR_HANDLER_FAILED', 'a message could not be handled', { cause });
        this.hooks.onError(this, error);
        return error;
      }
    }
    return null;
  }

  // ── Internals ─────────────────────────────────────────────────────────────────────────

  private open(transport: Transport): void {
    this.stateValue = 'open';
    const handshake = this.options.codec.encodeHandshake(this.sessionId);
    const queued = this.queue !== null && this.queue.length > 0 ? this.queue.drain() : { frames: [], bytes: 0 };
    const result = this.write(transport, handshake + queued.frames.join(''), queued.frames, queued.bytes);
    if (result === 'closed' && queued.frames.length > 0) this.queue?.unshift(queued.frames, queued.bytes);
    if (result === 'buffered' && this.current === transport) this.isBackpressured = true;
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
        if (this.isOverRate()) return;
        this.messagesReceived++;
        this.hooks.instruments.received(FAMILY, 1);
        this.hooks.onMessage(this, message.data);
        return;
      case 'json-invalid':
        if (this.isOverRate()) return;
        this.messagesReceived++;
        this.hooks.instruments.received(FAMILY, 1);
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

  /**
   * Over `maxMessagesPerSecond`, a message is dropped and counted — never answered with a
   * status: the 0.6 client would drop its whole session over a refused POST.
   */
  private isOverRate(): boolean {
    if (allowOne(this, this.options.maxMessagesPerSecond)) return false;
    this.rateLimitedMessages++;
    return true;
  }

  /** `shared`: the prepared message `frame` encodes, handed to the transport for its wire cache. */
  private sendFrame(frame: string, bytes: number, shared?: PreparedMessage): SendResult {
    if (this.stateValue === 'closed') {
      return { ok: false, error: new RealtimeError('ERR_CLOSED', 'the session is closed') };
    }
    const transport = this.current;
    const isClear = !this.isBackpressured && (this.ledger === null || this.ledger.olderUnsettled === 0);
    if (transport !== null && isClear && (this.queue === null || this.queue.length === 0)) {
      const result = this.write(transport, frame, [frame], bytes, shared);
      if (result === 'written') return this.sent();
      if (result === 'buffered') {
        if (this.current === transport) this.isBackpressured = true;
        return this.sent();
      }
      // 'closed': the transport is gone without having taken the frame; keep it.
    }
    return this.enqueue(frame, bytes);
  }

  private enqueue(frame: string, bytes: number): SendResult {
    this.queue ??= new SendQueue(this.options);
    // Detached inside its reconnect window, a session is bounded by bytes alone: a busy
    // session keeps its whole window unless megabytes really pile up.
    const countsFrames = this.stateValue !== 'detached';
    if (this.queue.push(frame, bytes, countsFrames)) return this.sent();
    const { queueOverflow, maxQueueMessages, maxQueueBytes } = this.options;
    this.hooks.instruments.overflowed(FAMILY);
    if (queueOverflow === 'drop-oldest') {
      // Fresh data first: the oldest frames make room, and each one counts as lost.
      const dropped = this.queue.dropOldest(bytes, countsFrames);
      this.droppedMessages += dropped;
      this.hooks.instruments.lost(FAMILY, 'dropped', dropped);
      if (this.queue.push(frame, bytes, countsFrames)) return this.sent();
    }
    const limits = `${maxQueueMessages} messages / ${maxQueueBytes} bytes`;
    // A frame larger than the whole byte budget cannot make room by dropping: refuse it.
    const policy = queueOverflow === 'drop-oldest' ? 'refuse' : queueOverflow;
    return overflow(policy, limits, (error) => this.close('queue-overflow', error));
  }

  /** A message accepted for the client: written, or queued for it. */
  private sent(): SendResult {
    this.messagesSent++;
    this.hooks.instruments.sent(FAMILY, 1);
    return SENT;
  }

  private flush(): void {
    const transport = this.current;
    if (transport === null || this.isBackpressured || (this.ledger !== null && this.ledger.olderUnsettled > 0)) return;
    if (this.queue === null || this.queue.length === 0) return;
    const { frames, bytes } = this.queue.drain();
    const result = this.write(transport, frames.join(''), frames, bytes);
    if (result === 'closed') this.queue.unshift(frames, bytes);
    else if (result === 'buffered' && this.current === transport) this.isBackpressured = true;
  }

  /** Every write goes through here, so frames given to a confirming transport are tracked. */
  private write(
    transport: Transport,
    payload: string,
    frames: readonly string[],
    bytes: number,
    shared?: PreparedMessage,
  ): WriteResult {
    // Every write to a confirming transport is listed, even one with no frames (a heartbeat,
    // a handshake alone): the transport settles each write, in order.
    if (transport.confirmsDelivery !== true) return transport.write(payload, shared);
    // Listed before the write: a transport may settle synchronously.
    this.ledger ??= new DeliveryLedger();
    const entry = this.ledger.record(transport, frames, bytes);
    const result = transport.write(payload, shared);
    if (result === 'closed') this.ledger.withdraw(entry);
    return result;
  }

  private scheduleHeartbeat(): void {
    if (this.options.heartbeatIntervalMs > 0 && this.current?.persistent === true) {
      this.setTimer(sendHeartbeat, this.options.heartbeatIntervalMs);
    }
  }

  /** @internal timer callback */
  heartbeatDue(): void {
    this.timer = null;
    const transport = this.current;
    if (transport === null) return;
    this.heartbeatCounter++;
    this.awaitedHeartbeat = this.heartbeatCounter;
    // Straight to the transport, never through the queue: a heartbeat may overtake queued
    // messages (the client echoes it whenever it arrives), it is never counted as a lost
    // message, and a peer that reads nothing fails to answer it and is closed.
    // Written through `write` with no frames: a confirming transport settles the heartbeat too,
    // and its settlement must not be taken for that of the message written after it.
    const result = this.write(transport, this.options.codec.encodeHeartbeat(this.heartbeatCounter), [], 0);
    if (result === 'buffered' && this.current === transport) this.isBackpressured = true;
    if (this.options.heartbeatTimeoutMs > 0) this.setTimer(missHeartbeat, this.options.heartbeatTimeoutMs);
  }

  private setTimer(callback: (conn: Conn) => void, delayMs: number): void {
    this.clearTimer();
    this.timer = this.hooks.timers.list(callback, delayMs);
    this.timer.add(this);
  }

  private clearTimer(): void {
    if (this.timer !== null) {
      this.timer.delete(this);
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
