/**
 * The plumbing under every plain connection (`WebSocketConnection` adds the public API on
 * top): its state machine, its errors, the closing handshake, and the hooks its parts call —
 * `ws`'s events (endpoint-socket.ts), the inbox's and outbox's needs, the timers'
 * (keep-alive.ts). An idle connection holds this object, its `ws` and a place in two timer
 * lists: the inbox, outbox and ending are made when first needed.
 *
 *   open ──close()/disconnect()──▶ closing ──peer's close or closeTimeoutMs──▶ closed
 *    │                                                                           ▲
 *    └── peer closes, idle timeout, write timeout, protocol error, TCP drop ──────┘
 *
 * Every error is put on `errors` before `done` resolves.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import { RealtimeError, type ErrorCode } from '../errors.js';
import type { Release, SendResult } from '../hub/results.js';
import { overflow } from '../wire/overflow.js';
import type { WireMessage } from './channels.js';
import { disconnectReason, errorOfWs, truncateReason } from './close.js';
import type { ConnectionContext } from './context.js';
import { listen, type EndpointSocket, type SocketOwner } from './endpoint-socket.js';
import { Ending, type CloseInfo } from './ending.js';
import { formatRemoteAddress } from './pending.js';
import { Inbox, SENT, type InboxOwner } from './inbox.js';
import type { KeptAlive } from './keep-alive.js';
import { Outbox, type OutboxHooks } from './outbox.js';

export type ConnectionState = 'open' | 'closing' | 'closed';

/** Sends a caller may leave waiting at once; beyond that `send()` is refused (await your sends). */
export const MAX_WAITING_SENDS = 1024;

/** The instruments' label of this family. */
export const FAMILY = 'endpoint';

export class ConnectionCore<T> implements KeptAlive, InboxOwner, OutboxHooks, SocketOwner {
  /** @internal (KeptAlive) */
  idleSteps = 0;
  /** @internal (KeptAlive) */
  bytesSeen = 0;
  protected stateValue: ConnectionState = 'open';
  protected inbox: Inbox<T> | null = null;
  protected outbox: Outbox | null = null;
  protected ending: Ending | null = null;

  constructor(
    protected readonly ws: EndpointSocket,
    private readonly socket: Duplex,
    protected readonly ctx: ConnectionContext<T, unknown>,
    /** A trusted proxy's client address, or null: the peer's own, read from the socket when asked. */
    private readonly forwardedAddress: string | null,
    /** Its place in the server's connection budget, given back when it closes. */
    private readonly release: Release,
  ) {
    listen(ws, this);
    ctx.keepAlive.start(this);
    ctx.instruments.opened(FAMILY, 'websocket');
  }

  /** Whether reading from the socket is paused because the receive buffer is full. */
  get isReceivePaused(): boolean {
    return this.ws.isPaused;
  }

  /**
   * `address:port` of the peer (`[v6]:port`), or the address a trusted proxy forwarded. Made
   * when asked, from what the socket caches, rather than kept as a string on every connection.
   */
  get remoteAddress(): string {
    const socket = this.socket as Partial<Socket>;
    return this.forwardedAddress ?? formatRemoteAddress(socket.remoteAddress, socket.remotePort);
  }

  protected endingOf(): Ending {
    return (this.ending ??= new Ending());
  }

  /** Keeps the first error that ends the connection (`done`'s `error`). */
  protected setFatal(error: RealtimeError): void {
    this.endingOf().fatalError ??= error;
  }

  // ── Sending ───────────────────────────────────────────────────────────────────────────

  protected overflow(): SendResult {
    const { queueOverflow, sendBuffer } = this.ctx.options;
    this.ctx.instruments.overflowed(FAMILY);
    return overflow(queueOverflow, `sendBuffer ${sendBuffer} messages`, (error) => {
      this.setFatal(error);
      this.reportError(error);
      void this.closeWith(error.closeCode, 'slow consumer', error);
    });
  }

  protected enqueue(data: string | Buffer, resolveWhen: 'accepted' | 'written'): Promise<void> {
    if (this.stateValue !== 'open') return Promise.reject(this.closedError());
    const outbox = this.outboxOf();
    if (resolveWhen === 'accepted' && outbox.length < this.ctx.options.sendBuffer) {
      // Within the send buffer: accepted now, so the caller need not wait.
      outbox.push(data, undefined);
      this.ctx.instruments.sent(FAMILY, 1);
      return SENT;
    }
    if (outbox.waitingSends >= MAX_WAITING_SENDS) {
      return Promise.reject(new RealtimeError('ERR_QUEUE_FULL', `more than ${MAX_WAITING_SENDS} sends are waiting`));
    }
    outbox.waitingSends++;
    return new Promise<void>((resolve, reject) => {
      let isSettled = false;
      const settle = (error?: Error): void => {
        if (isSettled) return;
        isSettled = true;
        outbox.waitingSends--;
        if (error === undefined) resolve();
        else reject(error);
      };
      const onWritten = (error?: Error): void => settle(error && this.closedError());
      if (resolveWhen === 'accepted') outbox.push(data, undefined, settle, undefined, settle);
      else outbox.push(data, undefined, undefined, onWritten, settle);
      this.ctx.instruments.sent(FAMILY, 1);
    });
  }

  protected outboxOf(): Outbox {
    return (this.outbox ??= new Outbox(this.ws, this.socket, this.ctx.options, this, this.ctx.keepAlive));
  }

  // ── Receiving ─────────────────────────────────────────────────────────────────────────

  protected async nextOrThrow(): Promise<WireMessage> {
    const message = await this.inboxOf().next();
    if (message === null) throw this.closedError();
    return message;
  }

  protected inboxOf(): Inbox<T> {
    if (this.inbox === null) {
      this.inbox = new Inbox<T>(this, this.ctx.options);
      if (this.stateValue === 'closed') this.inbox.end();
    }
    return this.inbox;
  }

  /** @internal (SocketOwner) one whole message from ws */
  onWireMessage(data: Buffer | Buffer[], isBinary: boolean): void {
    if (this.stateValue !== 'open') {
      this.ctx.debug(this, 'message after close() discarded');
      return;
    }
    this.ctx.instruments.received(FAMILY, 1);
    const message: WireMessage = isBinary && !Array.isArray(data) ? [data] : data;
    this.inboxOf().receive(message);
  }

  /** @internal (InboxOwner) pauses the socket while the receive buffer is full */
  setReceivePaused(isPaused: boolean): void {
    if (this.stateValue !== 'open' || isPaused === this.ws.isPaused) return;
    if (isPaused) this.ws.pause();
    else this.ws.resume();
  }

  /** @internal (InboxOwner) applies the invalid-message policy; true when reading must end */
  onInvalid(error: RealtimeError): boolean {
    const policy = this.ctx.options.onInvalidMessage;
    if (policy === 'skip') {
      this.ctx.debug(this, 'invalid message skipped (onInvalidMessage: skip)', { code: error.code });
      return false;
    }
    this.reportError(error);
    if (policy === 'error') return false;
    void this.closeWith(error.closeCode, error.code, error);
    return true;
  }

  /** @internal (InboxOwner) */
  onHandlerFailed(error: unknown): void {
    this.ctx.reportError(error);
  }

  // ── Errors ────────────────────────────────────────────────────────────────────────────

  protected reportError(error: RealtimeError): void {
    this.ctx.debug(this, 'websocket connection error', { code: error.code, err: error });
    this.inboxOf().report(error);
  }

  /** Reports an error that ends the connection; it becomes `done`'s `error`. */
  protected fail(code: ErrorCode, message: string, cause?: unknown): RealtimeError {
    const error = new RealtimeError(code, message, { cause });
    this.setFatal(error);
    this.reportError(error);
    return error;
  }

  /** @internal (SocketOwner) ws has already sent the matching close frame and will emit 'close' */
  onWireError(wsError: Error & { code?: string }): void {
    const { error, isInvalidCloseCode } = errorOfWs(wsError, this.ctx.options.maxMessageBytes);
    if (isInvalidCloseCode) this.endingOf().hadInvalidCloseCode = true;
    this.setFatal(error);
    this.reportError(error);
  }

  /** @internal (OutboxHooks) */
  onWriteFailure(error: Error | 'timeout'): void {
    if (this.stateValue === 'closed') return;
    if (error === 'timeout') {
      this.fail('ERR_WRITE_TIMEOUT', `no write progress for ${this.ctx.options.writeTimeoutMs} ms`);
    } else {
      this.fail('ERR_CONNECTION_DROPPED', `a write failed: ${error.message}`, error);
    }
    this.ws.terminate();
  }

  protected closedError(): RealtimeError {
    return new RealtimeError('ERR_CLOSED', 'connection closed');
  }

  // ── Keep-alive (keep-alive.ts) ────────────────────────────────────────────────────────

  /** @internal (KeptAlive) */
  bytesRead(): number {
    return (this.socket as Partial<Socket>).bytesRead ?? 0;
  }

  /** @internal (KeptAlive) */
  ping(): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.ping();
  }

  /** @internal (KeptAlive) */
  idleExpired(): void {
    if (this.stateValue === 'closed') return;
    this.fail('ERR_HEARTBEAT_TIMEOUT', `nothing received for ${this.ctx.options.idleTimeoutMs} ms`);
    this.ws.terminate();
  }

  /** @internal (KeptAlive) the peer did not answer our close frame in time */
  closeExpired(): void {
    this.ws.terminate();
  }

  // ── Closing ───────────────────────────────────────────────────────────────────────────

  protected async closeWith(code: number, reason: string, error?: RealtimeError): Promise<void> {
    if (error !== undefined) this.setFatal(error);
    if (this.stateValue === 'open') this.startClose(code, reason);
    await this.endingOf().done();
  }

  private startClose(code: number, reason: string): void {
    const ending = this.endingOf();
    ending.isCloseRequested = true;
    this.stateValue = 'closing';
    this.ctx.keepAlive.closing(this);
    // The peer's close frame must be readable even if our receive buffer is full.
    if (this.ws.isPaused) this.ws.resume();
    ending.pendingClose = { code, reason: truncateReason(reason) };
    if (this.outbox === null) {
      this.onFlushed();
      return;
    }
    this.outbox.trimForClose(this.closedError());
    this.outbox.pump();
  }

  /** @internal (OutboxHooks) the outbox is empty: if a close waits for the flush, send its frame now */
  onFlushed(): void {
    const pending = this.ending?.pendingClose ?? null;
    if (pending === null) return;
    this.endingOf().pendingClose = null;
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (pending.code === 1005) this.ws.close();
    else this.ws.close(pending.code, pending.reason);
  }

  /** @internal (SocketOwner) the TCP connection has ended */
  onWireClose(wireCode: number, reasonBytes: Buffer): void {
    const ending = this.endingOf();
    const code = ending.hadInvalidCloseCode && wireCode === 1006 ? 1005 : wireCode;
    const wasDropped = code === 1006 && !ending.isCloseRequested && ending.fatalError === undefined;
    if (wasDropped) this.fail('ERR_CONNECTION_DROPPED', 'the connection ended without a close frame');
    this.stateValue = 'closed';
    this.ctx.keepAlive.ended(this, this.outbox);
    const lostMessages = this.outbox?.shutdown(this.closedError()) ?? 0;
    this.inbox?.end();
    const error = ending.fatalError;
    const reason = reasonBytes.toString('utf8');
    const info: CloseInfo =
      error === undefined ? { code, reason, lostMessages } : { code, reason, lostMessages, error };
    this.release();
    ending.settle(info, error ?? this.closedError());
    this.report(info, ending.isCloseRequested);
    this.ctx.ended(this);
  }

  /** Tells the instruments and the log how the connection ended. */
  private report(info: CloseInfo, isCloseRequested: boolean): void {
    const label = disconnectReason(info.error, isCloseRequested, info.code);
    this.ctx.instruments.closed(FAMILY, 'websocket', label);
    if (info.lostMessages > 0) this.ctx.instruments.lost(FAMILY, label, info.lostMessages);
    this.ctx.debug(this, 'websocket connection closed', {
      code: info.code,
      reason: info.reason,
      error: info.error?.code,
    });
  }
}
