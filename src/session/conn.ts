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
import type { DisconnectInfo, DisconnectReason, SendResult } from '../hub/results.js';
import type { Codec, PayloadDecoder } from '../codecs/types.js';
import { RealtimeError } from '../errors.js';
import type { Transport, TransportName } from './transport.js';
import { encodeValue, PreparedMessage, type EncodedFrame } from '../hub/prepared.js';
import { FAMILY, SessionOutbox, type OutboxOwner } from './outbox.js';
import { SessionJournal, type JournalOwner } from './journal.js';
import type { ClaimedSession, SessionStore } from '../hub/session-store.js';
import { jsonTextOf } from '../hub/prepared.js';
import type { Bucket } from '../http/rate-limit.js';
import { receivePayload, type InboundSession } from './inbound.js';
import type { Member } from '../hub/member.js';
import type { TimerList, TimerLists } from '../hub/timer-lists.js';
import type { ConnEvents, ConnState, Resumability, ResumeInfo, SessionOptions } from './conn-types.js';

export type { ConnEvents, ConnState, Resumability, ResumeInfo, SessionOptions } from './conn-types.js';
import type { Instruments } from '../hub/instruments.js';

/** How a Conn reports to the server that owns it. */
export interface ConnHooks {
  /** The timers of the server's sessions (one Node timer per delay, not one per session). */
  readonly timers: TimerLists<Conn>;
  /** A decoder every session can share, when the codec's keeps no state (SIO's). */
  readonly sharedDecoder?: PayloadDecoder;
  /** Counts messages in, out and lost, and overflows (family `socketio06`). */
  readonly instruments: Instruments;
  onOpen(conn: Conn): void;
  /** A client came back to the session after its transport was lost (see `Conn.prepareResume`). */
  onResume(conn: Conn, info: ResumeInfo): void;
  onMessage(conn: Conn, data: unknown): void;
  onClose(conn: Conn, info: DisconnectInfo): void;
  /** The session left this node for another (`handOff`): forget it here, tell no application. */
  onHandOff(conn: Conn): void;
  onError(conn: Conn, error: RealtimeError): void;
}

export class Conn extends EventEmitter<ConnEvents> implements Member, OutboxOwner, JournalOwner, InboundSession {
  private stateValue: ConnState = 'connecting';
  /** @internal (OutboxOwner) the transport now attached, or null */
  current: Transport | null = null;
  private lastTransport: TransportName;
  /** Every frame accepted for the client, until the client has it. */
  private readonly outbox: SessionOutbox;
  /** The inbound rate's bucket, made on the first message when `maxMessagesPerSecond` is set. */
  /** @internal (RateHolder) */
  inboundBucket: Bucket | null = null;
  /** Client messages dropped for going over `maxMessagesPerSecond`. */
  rateLimitedMessages = 0;
  /** Messages from the client handed to the application. */
  messagesReceived = 0;
  /** When the session was made (ms since the epoch). */
  openedAt = Date.now();
  /** Frames that went out without the shared store having them (it was down). */
  notDurableMessages = 0;
  private dataValue: unknown = undefined;
  /** In a cluster, where this session's frames and record are kept. */
  private journal: SessionJournal | null = null;
  private heartbeatCounter = 0;
  /** The heartbeat number awaiting its echo, or 0. */
  private awaitedHeartbeat = 0;
  /** The one timer slot: the list this session is armed in, if any. */
  private timer: TimerList<Conn> | null = null;
  /** Set by `shutdown`: the session ends as soon as its queue is out. */
  private isDraining = false;
  /** The last transport was lost (a socket dropped, a poll cut off) rather than ended normally. */
  private isTransportLost = false;
  /** When the last transport ended. */
  private detachedAt = 0;
  /** Taken over from another node: the first resume says so. */
  private isAdopted = false;
  /** Set by `prepareResume`: the next attach resumes the session. */
  private resumeAck: number | undefined | null = null;
  /** @internal (InboundSession) */
  readonly inboundDecoder: PayloadDecoder;

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
    this.inboundDecoder = hooks.sharedDecoder ?? options.codec.createDecoder(options);
    this.outbox = new SessionOutbox(this, options);
  }

  /** @internal (OutboxOwner) */
  get instruments(): Instruments {
    return this.hooks.instruments;
  }

  /** @internal (OutboxOwner) */
  get isDetached(): boolean {
    return this.stateValue === 'detached';
  }

  /** @internal (OutboxOwner) a full queue under the `close` policy */
  closeForOverflow(error: RealtimeError): void {
    this.close('queue-overflow', error);
  }

  /** @internal (JournalOwner) */
  durableThrough(seq: number): void {
    if (this.stateValue !== 'closed') this.outbox.durableThrough(seq);
  }

  /** @internal (JournalOwner) */
  notDurable(count: number): void {
    this.notDurableMessages += count;
  }

  /** @internal (JournalOwner) another node owns the session now; it lives on there. */
  ownershipLost(): void {
    this.close('taken-over');
  }

  /**
   * The application's state of this session, in the manner of socket.io's `socket.data`: any
   * JSON value of at most `maxSessionDataBytes`. In a cluster it is saved with the session
   * each time it is set (assign a new value; changing the object in place saves nothing) and
   * restored wherever the session resumes. Setting a value with no JSON form, or too large,
   * throws (`ERR_INVALID_MESSAGE`, `ERR_TOO_LARGE`).
   */
  get data(): unknown {
    return this.dataValue;
  }

  set data(value: unknown) {
    const bytes = Buffer.byteLength(jsonTextOf(value));
    if (bytes > this.options.maxSessionDataBytes) {
      throw new RealtimeError('ERR_TOO_LARGE', `conn.data is ${bytes} bytes of JSON, over maxSessionDataBytes`);
    }
    this.dataValue = value;
    this.journal?.update({ data: value });
  }

  /** @internal (Member) the named rooms changed: a cluster session keeps them in its record. */
  roomsChanged(rooms: ReadonlySet<string>): void {
    this.journal?.update({ rooms: [...rooms] });
  }

  /** @internal (Member) a cluster session: another node takes it over when this one dies. */
  get outlivesNode(): boolean {
    return this.journal !== null;
  }

  /** @internal the registry puts the session in the shared store: frames wait for it from now on. */
  useStore(store: SessionStore): void {
    this.journal = new SessionJournal(store, this.sessionId, this);
    this.outbox.useJournal(this.journal);
  }

  /**
   * @internal a session taken over from a node that died: detached and lost (its client is
   * coming back), with its data and every frame not known to have reached the client.
   */
  adopt(claimed: ClaimedSession): void {
    this.stateValue = 'detached';
    this.isTransportLost = true;
    this.isAdopted = true;
    this.detachedAt = Date.now();
    this.openedAt = claimed.openedAt;
    this.dataValue = claimed.data;
    this.outbox.restore(
      { frames: [...claimed.frames.frames], seqs: [...claimed.frames.seqs], bytes: 0 },
      claimed.nextSeq,
    );
    this.setTimer(expireWindow, this.options.reconnectWindowMs);
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

  /**
   * Whether a new handshake of the same client may take this session over: its transport
   * was lost (not merely a poll that ended normally) and its reconnect window is still open.
   */
  get isResumable(): boolean {
    if (this.stateValue !== 'detached') return false;
    // A poll answered normally is no loss — unless the client never polled again: its next
    // poll died on the way (a node in between went down), and it is coming back.
    return this.isTransportLost || Date.now() - this.detachedAt >= this.options.lostPollGapMs;
  }

  /**
   * What a new handshake naming this session may learn of it: resumable; gone; in use through
   * another node's transport (`via`: that node may have just died); or detached after a normal
   * poll for `idleMs` (resumable once `lostPollGapMs` passes without a poll).
   */
  get resumability(): Resumability {
    if (this.stateValue === 'closed') return { resumable: false, gone: true };
    if (this.isResumable) return { resumable: true };
    if (this.stateValue === 'detached') return { resumable: false, idleMs: Date.now() - this.detachedAt };
    const via = this.current?.via;
    return via === undefined ? { resumable: false } : { resumable: false, via };
  }

  /** Frames waiting for a transport. */
  get queuedMessages(): number {
    return this.outbox.queuedMessages;
  }

  /** Sends refused (or fatal) because the queue was full. */
  get queueOverflows(): number {
    return this.outbox.queueOverflows;
  }

  /** Messages accepted for the client (written, or queued for it). */
  get messagesSent(): number {
    return this.outbox.messagesSent;
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
    this.outbox.flush();
    this.stateValue = 'closed';
    // Its record goes with it, unless it lives on elsewhere (taken over) or is gone already.
    if (reason !== 'taken-over' && reason !== 'store-lost') this.journal?.removed();
    this.clearTimer();
    const lostMessages = this.outbox.drainOnClose() + this.outbox.droppedMessages;
    const transport = this.current;
    this.current = null;
    transport?.close(error?.closeCode ?? (reason === 'shutdown' ? 1001 : 1000), reason);
    const unsettledMessages = this.outbox.unsettledMessages;
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
    if (goodbye !== undefined) this.outbox.enqueue(goodbye, 0);
    if (this.current === null && this.queuedMessages > 0 && this.stateValue === 'detached') return;
    this.outbox.isBackpressured = false;
    this.close('shutdown');
  }

  /**
   * Graceful shutdown of a node in a cluster: the session leaves this node without ending.
   * Its transport is closed (a websocket with 1001, a held poll answered), its record stays
   * in the store for another node to take over at once, and its client, reconnecting as the
   * 0.6 client does, resumes it there with everything it had not received. The application
   * here hears no `disconnect`: the session lives on.
   */
  handOff(): void {
    if (this.stateValue === 'closed') return;
    if (this.journal === null) return this.shutdown();
    this.stateValue = 'closed';
    this.clearTimer();
    this.journal.releaseToCluster(this.options.reconnectWindowMs);
    const transport = this.current;
    this.current = null;
    transport?.close(1001, 'shutdown');
    this.hooks.onHandOff(this);
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
    this.outbox.attached(transport);
    this.lastTransport = transport.name;
    // The newer request wins; the older one is ended normally (an empty poll answer).
    if (previous !== null && previous !== transport) previous.close(1000, 'superseded');
    if (this.isTransportLost) this.journal?.update({ isLost: false, transport: transport.name });
    this.isTransportLost = false;
    if (this.stateValue === 'connecting') {
      this.open(transport);
    } else if (this.resumeAck !== null) {
      this.resume(transport, this.resumeAck, true);
    } else if (this.isAdopted) {
      // Taken over from a node that died while this transport was on its way (a held poll, a
      // socket relayed through this node): it carries on, and the application hears of it.
      this.resume(transport, undefined, false);
    } else {
      this.stateValue = 'open';
      this.outbox.flush();
    }
    if (this.isDraining) {
      this.outbox.isBackpressured = false;
      this.close('shutdown');
    } else if (this.current === transport) this.scheduleHeartbeat();
  }

  /**
   * The transport ended (socket closed, poll answered, stream cut). `lost`: it did not end
   * normally — every socket or stream that closes, a poll cut off before its answer — so a
   * new handshake of the client may resume the session (`isResumable`).
   */
  detach(transport: Transport, lost = transport.persistent): void {
    if (transport !== this.current) return;
    this.current = null;
    this.outbox.isBackpressured = false;
    if (this.stateValue === 'closed') return;
    if (lost) this.journal?.update({ isLost: true, transport: transport.name });
    this.isTransportLost = lost;
    this.detachedAt = Date.now();
    this.stateValue = 'detached';
    this.awaitedHeartbeat = 0;
    this.setTimer(expireWindow, this.options.reconnectWindowMs);
  }

  /**
   * The next attach resumes this session for a client that came back with a new handshake
   * (its session cookie named it): the handshake frame again, then whatever the client did
   * not acknowledge — frames beyond `ackedSeq` (the cookie's number) — and the queue.
   */
  prepareResume(ackedSeq?: number): void {
    this.resumeAck = ackedSeq;
  }

  /**
   * The client acknowledges every frame up to `seq` (its session cookie) or, with no number,
   * everything it was sent (a poll came, so the last answer arrived).
   */
  acknowledge(seq?: number): void {
    this.outbox.acknowledge(seq);
  }

  /** The transport can take more after a 'buffered' write. */
  onDrain(transport: Transport): void {
    if (transport !== this.current) return;
    this.outbox.isBackpressured = false;
    this.outbox.flush();
  }

  /**
   * The outcome of one write to a transport that `confirmsDelivery`, in write order. A failed
   * write means the transport is dead: its unsettled frames go back to the head of the queue
   * (or, once the session is closed, are reported lost as an ERR_DELIVERY_FAILED error).
   */
  settle(transport: Transport, delivered: boolean): void {
    const outcome = this.outbox.settle(transport, delivered, this.stateValue === 'closed');
    if (outcome === null) return;
    // The last older write was delivered: what waited behind it may go.
    if (outcome === 'flush') return this.outbox.flush();
    if (typeof outcome === 'number') {
      if (outcome === 0) return;
      this.hooks.instruments.lost(FAMILY, 'undelivered', outcome);
      const message = `${outcome} frames accepted before the session closed were not delivered`;
      this.hooks.onError(this, new RealtimeError('ERR_DELIVERY_FAILED', message));
      return;
    }
    // Requeued: nothing more may go to a dead transport, or it would overtake those frames.
    this.detach(transport, true);
    this.outbox.flush();
  }

  /** One payload from the client (see inbound.ts): null, or the error to answer it with. */
  receive(payload: string): RealtimeError | null {
    return receivePayload(this, payload);
  }

  /** @internal (InboundSession) */
  heartbeatAnswered(n: number): void {
    if (this.awaitedHeartbeat !== 0 && n === this.awaitedHeartbeat) {
      this.awaitedHeartbeat = 0;
      this.clearTimer();
      this.scheduleHeartbeat();
    }
  }

  /** @internal (InboundSession) */
  messageIn(data: unknown): void {
    this.hooks.onMessage(this, data);
  }

  /** @internal (InboundSession) */
  inboundError(error: RealtimeError): void {
    this.hooks.onError(this, error);
  }

  /** @internal (InboundSession) */
  get maxMessagesPerSecond(): number {
    return this.options.maxMessagesPerSecond;
  }

  // ── Internals ─────────────────────────────────────────────────────────────────────────

  private open(transport: Transport): void {
    this.stateValue = 'open';
    this.outbox.open(transport, this.options.codec.encodeHandshake(this.sessionId));
    this.hooks.onOpen(this);
  }

  /** `withHandshake`: a new handshake of the client, which reads the session id first again. */
  private resume(transport: Transport, ackedSeq: number | undefined, withHandshake: boolean): void {
    this.resumeAck = null;
    this.stateValue = 'open';
    const resentMessages = this.outbox.resend(ackedSeq);
    const replayedMessages = this.outbox.queuedMessages;
    if (withHandshake) this.outbox.open(transport, this.options.codec.encodeHandshake(this.sessionId));
    else this.outbox.flush();
    const lostMessages = this.outbox.droppedMessages;
    const info: ResumeInfo = { replayedMessages, resentMessages, lostMessages, adopted: this.isAdopted };
    this.isAdopted = false;
    this.hooks.onResume(this, info);
    try {
      this.emit('resume', info);
    } catch (error) {
      this.reportHandlerFailure(error);
    }
  }

  /** `shared`: the prepared message `frame` encodes, handed to the transport for its wire cache. */
  private sendFrame(frame: string, bytes: number, shared?: PreparedMessage): SendResult {
    if (this.stateValue === 'closed') {
      return { ok: false, error: new RealtimeError('ERR_CLOSED', 'the session is closed') };
    }
    return this.outbox.accept(frame, bytes, shared);
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
    this.outbox.writeControl(transport, this.options.codec.encodeHeartbeat(this.heartbeatCounter));
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
