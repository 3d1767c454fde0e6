/**
 * One plain RFC 6455 connection: seehuhn's `Conn` (sendText/sendBinary, streaming
 * sendMessage/receiveMessage, receiveText/receiveBinary, close, status) and go-macaron's
 * channels (`messages`, `send`, `errors`, `done`, `disconnect`) on one object.
 *
 *   open ──close()/disconnect()──▶ closing ──peer's close or closeTimeoutMs──▶ closed
 *    │                                                                           ▲
 *    └── peer closes, idle timeout, write timeout, protocol error, TCP drop ──────┘
 *
 * Inbound: `ws` assembles each message (bounded by `maxMessageBytes`, oversize → 1009); the
 * connection keeps at most `recvBuffer` of them (plus undelivered errors) and pauses reading
 * the socket while that is full, so TCP backpressure reaches the client. `receive*()` and
 * `messages` read the same queue, first come first served.
 *
 * Outbound: see `outbox.ts`. Timers: keep-alive pings, the idle deadline (reset by pongs,
 * pings and messages, never by writes; suspended while reading is paused, because then the
 * delay is ours) and the close deadline. Every error is put on `errors` before `done` resolves.
 */
import type { Duplex } from 'node:stream';
import { Writable } from 'node:stream';
import type { FastifyBaseLogger as Logger } from 'fastify';
import { WebSocket } from 'ws';
import { RealtimeError } from '../errors.js';
import type { SendResult } from '../hub/results.js';
import { newSessionId } from '../hub/ids.js';
import type { Member } from '../hub/member.js';
import type { PreparedMessage } from '../hub/prepared.js';
import {
  decodeMessage,
  encodePrepared,
  encodeValue,
  joinFragments,
  type InboundMessage,
  type Outgoing,
} from './channels.js';
import {
  isSendableCloseCode,
  MAX_CLOSE_REASON_BYTES,
  MessageTypeError,
  StatusCodeError,
  TooLargeError,
  type MessageType,
} from './errors.js';
import type { ResolvedEndpointOptions } from './options.js';
import { Outbox } from './outbox.js';
import { overflow } from '../wire/overflow.js';
import { dataFrame } from '../wire/ws-frame.js';
import type { PendingConnection } from './pending.js';

/** A close status: the code and reason of the peer's close frame (1005 none, 1006 no frame at all). */
export interface CloseStatus {
  readonly code: number;
  readonly reason: string;
}

/** How a connection ended: the peer's status plus the error that ended it, if one did. */
export interface CloseInfo extends CloseStatus {
  readonly error?: RealtimeError;
  /** Queued messages that never reached the socket (0 unless the connection ended abruptly). */
  readonly lostMessages: number;
}

/** A message as `receiveMessage()` hands it out: its type and its body as a stream of frames. */
export interface ReceivedMessage {
  readonly type: MessageType;
  readonly body: AsyncIterable<Uint8Array>;
}

export type ConnectionState = 'open' | 'closing' | 'closed';

/** Sends a caller may leave waiting at once; beyond that `send()` is refused (await your sends). */
export const MAX_WAITING_SENDS = 1024;

type Waiter<V> = (value: V | null) => void;

export class WebSocketConnection<T = unknown> implements Member {
  readonly id = newSessionId();
  /** Aborted when the connection has ended (go-macaron's `done` channel, for `select`-like code). */
  readonly signal: AbortSignal;
  /** Resolves once the connection has ended, after every error reached `errors`. */
  readonly done: Promise<CloseInfo>;
  /** Resolves to the peer's close status (seehuhn's `GetStatus`). */
  readonly closed: Promise<CloseStatus>;

  private stateValue: ConnectionState = 'open';
  private readonly inbox: InboundMessage[] = [];
  private readonly readers: Array<Waiter<InboundMessage>> = [];
  private readonly errorQueue: RealtimeError[] = [];
  private readonly errorReaders: Array<Waiter<RealtimeError>> = [];
  private readonly outbox: Outbox;
  private readonly abort = new AbortController();
  private waitingSends = 0;
  private fatalError: RealtimeError | undefined;
  private isCloseRequested = false;
  /** The peer's close frame carried an invalid code: seehuhn reports that as 1005. */
  private hadInvalidCloseCode = false;
  private isFlushingForClose = false;
  private pendingClose: { code: number; reason: string } | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  private resolveDone!: (info: CloseInfo) => void;
  private resolveClosed!: (status: CloseStatus) => void;

  constructor(
    private readonly ws: WebSocket,
    socket: Duplex,
    private readonly pending: PendingConnection,
    private readonly options: ResolvedEndpointOptions<T>,
    private readonly log: Logger,
  ) {
    this.signal = this.abort.signal;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.outbox = new Outbox(
      ws,
      socket,
      {
        sendBuffer: options.sendBuffer,
        highWaterMarkBytes: options.sendHighWaterMarkBytes,
        writeTimeoutMs: options.writeTimeoutMs,
      },
      { onWriteFailure: (error) => this.onWriteFailure(error), onFlushed: () => this.onFlushed() },
    );
    ws.binaryType = 'fragments';
    // With binaryType 'fragments', ws hands binary messages over as the payloads of their
    // frames; text messages always come as one Buffer (ws validates UTF-8 over the whole).
    ws.on('message', (data, isBinary) => this.onMessage(Array.isArray(data) ? data : [data as Buffer], isBinary));
    ws.on('pong', () => this.touch());
    ws.on('ping', () => this.touch());
    ws.on('error', (error) => this.onWsError(error));
    // 'close' fires once: `on` spares the `once` wrapper each idle connection would keep.
    ws.on('close', (code, reason) => this.onClose(code, reason.toString('utf8')));
    this.startKeepAlive();
  }

  // Getters, so the handshake facts are read-only at run time too.

  /** `ws://` or `wss://` + Host + path and query (seehuhn's `ResourceName`). */
  get resource(): URL {
    return new URL(this.pending.resource);
  }

  /** The parsed Origin header, or null when there was none. */
  get origin(): URL | null {
    return this.pending.origin === null ? null : new URL(this.pending.origin);
  }

  /** `address:port` of the peer. */
  get remoteAddress(): string {
    return this.pending.remoteAddress;
  }

  /** The subprotocol the accept hook chose, or '' when none was named. */
  get protocol(): string {
    return this.ws.protocol;
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** Whether reading from the socket is paused because the receive buffer is full. */
  get isReceivePaused(): boolean {
    return this.ws.isPaused;
  }

  /** Inbound messages waiting to be read. */
  get queuedMessages(): number {
    return this.inbox.length;
  }

  /** Outbound entries not yet handed to the socket. */
  get queuedSends(): number {
    return this.outbox.length;
  }

  /** Bytes handed to the socket and not yet written to the network. */
  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  // ── Sending ───────────────────────────────────────────────────────────────────────────

  /**
   * Sends one value in the endpoint's mode. Resolves once the message fits the send buffer
   * (`sendBuffer` entries), so awaiting it applies backpressure; rejects with
   * `ERR_CLOSED` once the connection is closing.
   */
  send(value: T): Promise<void> {
    let outgoing: Outgoing;
    try {
      outgoing = encodeValue(this.options.mode, value);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return this.enqueue(outgoing, 'accepted');
  }

  /** One text message; resolves once the socket has written it (seehuhn's `SendText`). */
  sendText(text: string): Promise<void> {
    return this.enqueue({ data: text, binary: false }, 'written');
  }

  /** One binary message; resolves once the socket has written it (seehuhn's `SendBinary`). */
  sendBinary(data: Uint8Array): Promise<void> {
    return this.enqueue({ data: Buffer.from(data.buffer, data.byteOffset, data.byteLength), binary: true }, 'written');
  }

  /**
   * A message of any length as a stream (seehuhn's `SendMessage`): every chunk written goes
   * out as one frame, `end()` sends the final one. Nothing else is sent until it ends. A
   * stream destroyed after its first frame cannot be recalled, so the connection closes 1011.
   */
  sendMessage(type: MessageType): Writable {
    if ((type as string) !== 'text' && (type as string) !== 'binary') {
      throw new RealtimeError('ERR_INVALID_MESSAGE', `sendMessage takes 'text' or 'binary', got ${String(type)}`);
    }
    if (this.stateValue !== 'open') throw this.closedError();
    const job = this.outbox.pushStream(type === 'binary', () => undefined);
    return new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        if (this.stateValue !== 'open') return callback(this.closedError());
        job.chunks.push({ data: chunk, done: (error) => callback(error ?? null) });
        this.outbox.pump();
      },
      final: (callback) => {
        job.isEnded = true;
        job.onEnd = (error) => callback(error ?? null);
        this.outbox.pump();
      },
      destroy: (error, callback) => {
        if (!job.isEnded && job.isStarted && this.stateValue !== 'closed') {
          void this.closeWith(
            1011,
            'a streamed message was aborted',
            this.fail('ERR_HANDLER_FAILED', 'a streamed message was aborted', error),
          );
        } else if (!job.isEnded) {
          this.outbox.discard(job);
        }
        callback(error);
      },
    });
  }

  /**
   * Fan-out entry point (`Member`): encodes once per mode for all plain connections, and
   * respects the send buffer: when it is full, `queueOverflow: 'close'` closes the
   * connection as a slow consumer (1013), `'refuse'` refuses this message.
   */
  deliver(message: PreparedMessage): SendResult {
    if (this.stateValue !== 'open') return { ok: false, error: this.closedError() };
    let outgoing: Outgoing;
    try {
      outgoing = encodePrepared(this.options.mode, message);
    } catch (error) {
      return { ok: false, error: error as RealtimeError };
    }
    if (!this.outbox.hasRoom) return this.overflow();
    const frame = message.encoded(`plain:${this.options.mode}:rfc6455`, () =>
      dataFrame(outgoing.data, outgoing.binary),
    );
    this.outbox.push({ ...outgoing, frame, onDropped: () => undefined });
    return { ok: true };
  }

  private overflow(): SendResult {
    return overflow(this.options.queueOverflow, `sendBuffer ${this.options.sendBuffer} messages`, (error) => {
      this.fatalError ??= error;
      this.reportError(error);
      void this.closeWith(error.closeCode, 'slow consumer', error);
    });
  }

  private enqueue(outgoing: Outgoing, resolveWhen: 'accepted' | 'written'): Promise<void> {
    if (this.stateValue !== 'open') return Promise.reject(this.closedError());
    if (this.waitingSends >= MAX_WAITING_SENDS) {
      return Promise.reject(new RealtimeError('ERR_QUEUE_FULL', `more than ${MAX_WAITING_SENDS} sends are waiting`));
    }
    this.waitingSends++;
    return new Promise<void>((resolve, reject) => {
      const settle = (error?: Error): void => {
        this.waitingSends--;
        if (error === undefined) resolve();
        else reject(error);
      };
      this.outbox.push({
        ...outgoing,
        onAccepted: resolveWhen === 'accepted' ? () => settle() : undefined,
        onWritten: resolveWhen === 'written' ? (error) => settle(error && this.closedError()) : undefined,
        onDropped: (error) => settle(error),
      });
    });
  }

  // ── Receiving ─────────────────────────────────────────────────────────────────────────

  /**
   * The next message, whatever its type (seehuhn's `ReceiveMessage`). For a binary message
   * `body` yields the payloads of its frames as they arrived; a text message comes as one
   * chunk. `ws` has assembled (and for text, UTF-8-validated) the whole message first,
   * within `maxMessageBytes`. Rejects with `ERR_CLOSED` once nothing more can come.
   */
  async receiveMessage(): Promise<ReceivedMessage> {
    const message = await this.nextOrThrow();
    const fragments = message.fragments;
    return {
      type: message.type,
      body: (async function* () {
        for (const fragment of fragments)
          yield new Uint8Array(fragment.buffer, fragment.byteOffset, fragment.byteLength);
      })(),
    };
  }

  /**
   * The next message as text. A binary message rejects with `MessageTypeError` (and is
   * consumed; the connection stays open). Over `maxLength` UTF-8 bytes: `TooLargeError` with
   * `partial`, the longest prefix that ends on a code-point boundary.
   */
  async receiveText(maxLength: number): Promise<string> {
    const message = await this.nextOrThrow();
    if (message.type !== 'text') throw new MessageTypeError('text', message.type);
    const bytes = joinFragments(message.fragments);
    if (bytes.length <= maxLength) return bytes.toString('utf8');
    const partial = bytes.subarray(0, codePointBoundary(bytes, maxLength)).toString('utf8');
    throw new TooLargeError(
      `a text message of ${bytes.length} bytes exceeds ${maxLength}`,
      maxLength,
      bytes.length,
      partial,
    );
  }

  /**
   * The next binary message, copied into `buffer`; resolves to its length. A text message
   * rejects with `MessageTypeError`; a longer one fills `buffer` and rejects with
   * `TooLargeError` (`partial` = bytes copied).
   */
  async receiveBinary(buffer: Uint8Array): Promise<number> {
    const message = await this.nextOrThrow();
    if (message.type !== 'binary') throw new MessageTypeError('binary', message.type);
    const bytes = joinFragments(message.fragments);
    const copied = bytes.copy(buffer, 0, 0, Math.min(bytes.length, buffer.length));
    if (bytes.length > buffer.length) {
      throw new TooLargeError(
        `a binary message of ${bytes.length} bytes exceeds ${buffer.length}`,
        buffer.length,
        bytes.length,
        copied,
      );
    }
    return copied;
  }

  /**
   * Decoded messages in the endpoint's mode, until the connection ends. Undecodable ones
   * follow `onInvalidMessage`: `close` (1007, error on `errors`, iteration ends), `skip`, or
   * `error` (reported on `errors`, iteration goes on).
   */
  get messages(): AsyncIterable<T> {
    return { [Symbol.asyncIterator]: () => this.messageIterator() };
  }

  /** Every read, write, protocol and timeout error, until the connection has ended. */
  get errors(): AsyncIterable<RealtimeError> {
    return { [Symbol.asyncIterator]: () => this.errorIterator() };
  }

  private async *messageIterator(): AsyncGenerator<T, void, undefined> {
    for (;;) {
      const message = await this.next();
      if (message === null) return;
      const decoded = decodeMessage(this.options.mode, message, this.options.validate, this.options.maxJsonDepth);
      if (decoded.ok) {
        yield decoded.value;
        continue;
      }
      if (this.onInvalid(decoded.error)) return;
    }
  }

  /** Applies the invalid-message policy; true when the iteration must end. */
  private onInvalid(error: RealtimeError): boolean {
    const policy = this.options.onInvalidMessage;
    if (policy === 'skip') {
      this.log.debug({ code: error.code }, 'invalid message skipped (onInvalidMessage: skip)');
      return false;
    }
    this.reportError(error);
    if (policy === 'error') return false;
    void this.closeWith(error.closeCode, error.code, error);
    return true;
  }

  private async *errorIterator(): AsyncGenerator<RealtimeError, void, undefined> {
    for (;;) {
      const error =
        this.errorQueue.shift() ?? (this.stateValue === 'closed' ? null : await this.waitFor(this.errorReaders));
      this.updatePause();
      if (error === null) return;
      yield error;
    }
  }

  private async nextOrThrow(): Promise<InboundMessage> {
    const message = await this.next();
    if (message === null) throw this.closedError();
    return message;
  }

  private async next(): Promise<InboundMessage | null> {
    const queued = this.inbox.shift();
    if (queued !== undefined) {
      this.updatePause();
      return queued;
    }
    if (this.stateValue === 'closed') return null;
    return this.waitFor(this.readers);
  }

  private waitFor<V>(waiters: Array<Waiter<V>>): Promise<V | null> {
    return new Promise((resolve) => waiters.push(resolve));
  }

  private onMessage(fragments: Buffer[], isBinary: boolean): void {
    this.touch();
    if (this.isCloseRequested) {
      this.log.debug('message after close() discarded');
      return;
    }
    const message: InboundMessage = { type: isBinary ? 'binary' : 'text', fragments };
    const reader = this.readers.shift();
    if (reader !== undefined) reader(message);
    else this.inbox.push(message);
    this.updatePause();
  }

  /** Pauses the socket while the receive buffer (messages + unread errors) is full. */
  private updatePause(): void {
    if (this.stateValue !== 'open') return;
    const isFull = this.inbox.length + this.errorQueue.length >= this.options.recvBuffer;
    if (isFull && !this.ws.isPaused) {
      this.ws.pause();
      this.stopIdleTimer();
    } else if (!isFull && this.ws.isPaused) {
      this.ws.resume();
      this.touch();
    }
  }

  // ── Errors ────────────────────────────────────────────────────────────────────────────

  private reportError(error: RealtimeError): void {
    this.log.debug({ code: error.code, err: error }, 'websocket connection error');
    const reader = this.errorReaders.shift();
    if (reader !== undefined) reader(error);
    else this.errorQueue.push(error);
    this.updatePause();
  }

  /** Reports an error that ends the connection; it becomes `done`'s `error`. */
  private fail(code: RealtimeError['code'], message: string, cause?: unknown): RealtimeError {
    const error = new RealtimeError(code, message, { cause });
    this.fatalError ??= error;
    this.reportError(error);
    return error;
  }

  private onWsError(error: Error & { code?: string }): void {
    // ws has already sent the matching close frame (1002, 1007 or 1009) and will emit 'close'.
    if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
      this.fail('ERR_TOO_LARGE', `a message exceeds maxMessageBytes (${this.options.maxMessageBytes})`, error);
    } else if (error.code === 'WS_ERR_INVALID_CLOSE_CODE') {
      this.hadInvalidCloseCode = true;
      this.fail('ERR_PROTOCOL_VIOLATION', `protocol violation: ${error.message}`, error);
    } else if (error.code === 'WS_ERR_INVALID_UTF8') {
      this.fail('ERR_INVALID_UTF8', 'a text message is not valid UTF-8', error);
    } else {
      this.fail('ERR_PROTOCOL_VIOLATION', `protocol violation: ${error.message}`, error);
    }
  }

  private onWriteFailure(error: Error | 'timeout'): void {
    if (this.stateValue === 'closed') return;
    if (error === 'timeout') {
      this.fail('ERR_WRITE_TIMEOUT', `no write progress for ${this.options.writeTimeoutMs} ms`);
    } else {
      this.fail('ERR_CONNECTION_DROPPED', `a write failed: ${error.message}`, error);
    }
    this.ws.terminate();
  }

  private closedError(): RealtimeError {
    return new RealtimeError('ERR_CLOSED', 'connection closed');
  }

  // ── Keep-alive ────────────────────────────────────────────────────────────────────────

  private startKeepAlive(): void {
    if (this.options.pingIntervalMs > 0) {
      this.pingTimer = setInterval(() => {
        if (this.ws.readyState === WebSocket.OPEN) this.ws.ping();
      }, this.options.pingIntervalMs);
    }
    this.touch();
  }

  /** Inbound activity: restarts the idle deadline (unless reading is paused by us). */
  private touch(): void {
    if (this.options.idleTimeoutMs === 0 || this.stateValue === 'closed' || this.ws.isPaused) return;
    this.stopIdleTimer();
    this.idleTimer = setTimeout(() => this.onIdle(), this.options.idleTimeoutMs);
  }

  private stopIdleTimer(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  private onIdle(): void {
    this.fail('ERR_HEARTBEAT_TIMEOUT', `nothing received for ${this.options.idleTimeoutMs} ms`);
    this.ws.terminate();
  }

  // ── Closing ───────────────────────────────────────────────────────────────────────────

  /**
   * Closes with `code` and `reason` (seehuhn's `Close`). Validates both before anything is
   * sent: the code must be 1000–1003, 1005 (a close frame without a body; the reason is
   * dropped), 1007–1011 or 3000–4999 (`StatusCodeError`), the reason at most 123 UTF-8 bytes
   * (`TooLargeError`). Sends what is already queued, then the close frame, and waits up to
   * `closeTimeoutMs` for the peer's close before dropping TCP. A second call rejects with
   * `ERR_CLOSED`.
   */
  async close(code = 1000, reason = ''): Promise<void> {
    if (!isSendableCloseCode(code)) throw new StatusCodeError(code);
    const bytes = Buffer.byteLength(reason);
    if (bytes > MAX_CLOSE_REASON_BYTES) {
      throw new TooLargeError(
        `a close reason of ${bytes} bytes exceeds ${MAX_CLOSE_REASON_BYTES}`,
        MAX_CLOSE_REASON_BYTES,
        bytes,
      );
    }
    if (this.isCloseRequested || this.stateValue === 'closed') throw this.closedError();
    await this.closeWith(code, reason);
  }

  /** go-macaron's `disconnect` channel: close with `code` (validated as in `close`). */
  disconnect(code = 1000): Promise<void> {
    return this.close(code);
  }

  private async closeWith(code: number, reason: string, error?: RealtimeError): Promise<void> {
    if (error !== undefined) this.fatalError ??= error;
    if (this.isCloseRequested || this.stateValue === 'closed') {
      await this.done;
      return;
    }
    this.isCloseRequested = true;
    this.stateValue = 'closing';
    this.stopTimers();
    // The peer's close frame must be readable even if our receive buffer is full.
    if (this.ws.isPaused) this.ws.resume();
    this.closeTimer = setTimeout(() => this.ws.terminate(), this.options.closeTimeoutMs);
    this.pendingClose = { code, reason: truncateReason(reason) };
    this.outbox.trimForClose(this.closedError());
    this.isFlushingForClose = true;
    this.outbox.pump();
    await this.done;
  }

  /** The outbox is empty: if a close is waiting for the flush, send the close frame now. */
  private onFlushed(): void {
    if (!this.isFlushingForClose || this.pendingClose === undefined) return;
    this.isFlushingForClose = false;
    const { code, reason } = this.pendingClose;
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (code === 1005) this.ws.close();
    else this.ws.close(code, reason);
  }

  private stopTimers(): void {
    clearInterval(this.pingTimer);
    this.stopIdleTimer();
  }

  private onClose(wireCode: number, reason: string): void {
    const code = this.hadInvalidCloseCode && wireCode === 1006 ? 1005 : wireCode;
    const wasDropped = code === 1006 && !this.isCloseRequested && this.fatalError === undefined;
    if (wasDropped) this.fail('ERR_CONNECTION_DROPPED', 'the connection ended without a close frame');
    this.stateValue = 'closed';
    this.stopTimers();
    clearTimeout(this.closeTimer);
    const lostMessages = this.outbox.shutdown(this.closedError());
    for (const reader of this.readers.splice(0)) reader(null);
    for (const reader of this.errorReaders.splice(0)) reader(null);
    const status = { code, reason };
    this.resolveClosed(status);
    this.abort.abort(this.fatalError ?? this.closedError());
    this.resolveDone(
      this.fatalError === undefined ? { ...status, lostMessages } : { ...status, lostMessages, error: this.fatalError },
    );
    this.log.debug({ code, reason, error: this.fatalError?.code }, 'websocket connection closed');
  }
}

/** The largest cut ≤ `limit` that does not split a UTF-8 sequence. */
function codePointBoundary(bytes: Buffer, limit: number): number {
  let cut = limit;
  // Continuation bytes look like 10xxxxxx; step back to the lead byte of the cut sequence.
  while (cut > 0 && ((bytes[cut] as number) & 0xc0) === 0x80) cut--;
  return cut;
}

/** Internal close reasons are error codes; cap them at 123 bytes all the same. */
function truncateReason(reason: string): string {
  if (Buffer.byteLength(reason) <= MAX_CLOSE_REASON_BYTES) return reason;
  const bytes = Buffer.from(reason);
  return bytes.subarray(0, codePointBoundary(bytes, MAX_CLOSE_REASON_BYTES)).toString('utf8');
}
