/**
 * One plain RFC 6455 connection: seehuhn's `Conn` (sendText/sendBinary, streaming
 * sendMessage/receiveMessage, receiveText/receiveBinary, close, status) and go-macaron's
 * channels (`messages`, `send`, `errors`, `done`, `disconnect`) on one object, plus the fast
 * path (`onMessage`). This file is the public API; each job under it has its own file:
 *
 *   connection-core.ts  the state machine, errors, the closing handshake, the parts' hooks
 *   inbox.ts            receiving: the `onMessage` handler, one queue for `messages` and the
 *                       `receive*` methods, `errors`, the receive buffer
 *   receive.ts          seehuhn's receive conversions (type checks, limits, `partial`)
 *   outbox.ts           sending: direct writes, the send queue and buffer; stream-writer.ts
 *   keep-alive.ts       pings and the idle, write and close deadlines, in the endpoint's
 *                       timer lists
 *   ending.ts           `done`, `closed`, `signal`, made on first use
 *   close.ts            which close may be sent, what ws's errors mean, disconnect labels
 */
import type { Duplex, Writable } from 'node:stream';
import { RealtimeError } from '../errors.js';
import { newSessionId } from '../hub/ids.js';
import type { Member } from '../hub/member.js';
import type { PreparedMessage } from '../hub/prepared.js';
import type { Release, SendResult } from '../hub/results.js';
import { dataOf, encodePrepared, preparedFrame } from './channels.js';
import { checkClose } from './close.js';
import { ConnectionCore, FAMILY, type ConnectionState } from './connection-core.js';
import type { ConnectionContext } from './context.js';
import type { EndpointSocket } from './endpoint-socket.js';
import type { CloseInfo, CloseStatus } from './ending.js';
import type { MessageType } from './errors.js';
import { SENT, type MessageHandler } from './inbox.js';
import { copyBinary, receivedMessage, textWithin, type ReceivedMessage } from './receive.js';
import { streamWriter } from './stream-writer.js';

export type { CloseInfo, CloseStatus } from './ending.js';
export type { ReceivedMessage } from './receive.js';
export type { MessageHandler } from './inbox.js';
export { MAX_WAITING_SENDS, type ConnectionState } from './connection-core.js';

/** What the handshake established about a connection, kept as strings (not the request). */
export interface ConnectionFacts {
  readonly resource: string;
  readonly origin: string | null;
  /** What a trusted proxy forwarded, or null: the peer's address is read from the socket. */
  readonly forwardedAddress: string | null;
}

const ACCEPTED: SendResult = Object.freeze({ ok: true });

export class WebSocketConnection<T = unknown> extends ConnectionCore<T> implements Member {
  readonly id = newSessionId();
  private readonly resourceHref: string;
  private readonly originHref: string | null;

  constructor(
    ws: EndpointSocket,
    socket: Duplex,
    facts: ConnectionFacts,
    ctx: ConnectionContext<T, unknown>,
    release: Release,
  ) {
    super(ws, socket, ctx, facts.forwardedAddress, release);
    this.resourceHref = facts.resource;
    this.originHref = facts.origin;
  }

  // Getters, so the handshake facts are read-only at run time too.

  /** `ws://` or `wss://` + Host + path and query (seehuhn's `ResourceName`). */
  get resource(): URL {
    return new URL(this.resourceHref);
  }

  /** The parsed Origin header, or null when there was none. */
  get origin(): URL | null {
    return this.originHref === null ? null : new URL(this.originHref);
  }

  /** The subprotocol the accept hook chose, or '' when none was named. */
  get protocol(): string {
    return this.ws.protocol;
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** Inbound messages waiting to be read. */
  get queuedMessages(): number {
    return this.inbox?.length ?? 0;
  }

  /** Outbound entries not yet handed to the socket. */
  get queuedSends(): number {
    return this.outbox?.length ?? 0;
  }

  /** Bytes handed to the socket and not yet written to the network. */
  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  /** Resolves once the connection has ended, after every error reached `errors`. */
  get done(): Promise<CloseInfo> {
    return this.endingOf().done();
  }

  /** Resolves to the peer's close status (seehuhn's `GetStatus`). */
  get closed(): Promise<CloseStatus> {
    return this.endingOf().closed();
  }

  /** Aborted when the connection has ended (go-macaron's `done` channel, for `select`-like code). */
  get signal(): AbortSignal {
    return this.endingOf().signal();
  }

  // ── Sending ───────────────────────────────────────────────────────────────────────────

  /**
   * Sends one value in the endpoint's mode. Resolves once the message fits the send buffer
   * (`sendBuffer` entries), so awaiting it applies backpressure; rejects with `ERR_CLOSED`
   * once the connection is closing. A message that can go to the socket at once costs no
   * promise of its own (every such send returns the same resolved one).
   */
  send(value: T): Promise<void> {
    if (this.stateValue !== 'open') return Promise.reject(this.closedError());
    let data: string | Buffer;
    try {
      data = dataOf(this.ctx.options.mode, value);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    if (this.outboxOf().tryWrite(data)) {
      this.ctx.instruments.sent(FAMILY, 1);
      return SENT;
    }
    return this.enqueue(data, 'accepted');
  }

  /** One text message; resolves once the socket has written it (seehuhn's `SendText`). */
  sendText(text: string): Promise<void> {
    return this.enqueue(text, 'written');
  }

  /** One binary message; resolves once the socket has written it (seehuhn's `SendBinary`). */
  sendBinary(data: Uint8Array): Promise<void> {
    return this.enqueue(Buffer.from(data.buffer, data.byteOffset, data.byteLength), 'written');
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
    return streamWriter(this.outboxOf(), type === 'binary', {
      isOpen: () => this.stateValue === 'open',
      isClosed: () => this.stateValue === 'closed',
      closedError: () => this.closedError(),
      abort: (cause) =>
        void this.closeWith(
          1011,
          'a streamed message was aborted',
          this.fail('ERR_HANDLER_FAILED', 'a streamed message was aborted', cause),
        ),
    });
  }

  /**
   * Fan-out entry point (`Member`): encodes and frames once per mode for all plain
   * connections, and respects the send buffer: when it is full, `queueOverflow: 'close'`
   * closes the connection as a slow consumer (1013), `'refuse'` refuses this message.
   */
  deliver(message: PreparedMessage): SendResult {
    if (this.stateValue !== 'open') return { ok: false, error: this.closedError() };
    const mode = this.ctx.options.mode;
    try {
      const outbox = this.outboxOf();
      // The frame alone goes to the socket on the fast path; the data only when it must wait.
      if (!outbox.tryWriteFrame(preparedFrame(mode, message))) {
        if (!outbox.hasRoom) return this.overflow();
        outbox.push(encodePrepared(mode, message).data, preparedFrame(mode, message));
      }
    } catch (error) {
      return { ok: false, error: error as RealtimeError };
    }
    this.ctx.instruments.sent(FAMILY, 1);
    return ACCEPTED;
  }

  // ── Receiving ─────────────────────────────────────────────────────────────────────────

  /**
   * The fast path: `handler` gets each message, decoded in the endpoint's mode, as it
   * arrives (no queue, no promise per message); messages already queued go to it first.
   * Undecodable messages follow `onInvalidMessage`. A handler may return a promise: until it
   * settles, its message counts against `recvBuffer`. A handler that throws or rejects is
   * reported as a server `error`; the connection stays. With a handler set, `messages` and
   * the `receive*` methods get nothing; `onMessage(null)` gives the messages back to them.
   */
  onMessage(handler: MessageHandler<T> | null): void {
    this.inboxOf().setHandler(handler);
  }

  /**
   * The next message, whatever its type (seehuhn's `ReceiveMessage`). For a binary message
   * `body` yields the payloads of its frames as they arrived; a text message comes as one
   * chunk. `ws` has assembled (and for text, UTF-8-validated) the whole message first,
   * within `maxMessageBytes`. Rejects with `ERR_CLOSED` once nothing more can come.
   */
  async receiveMessage(): Promise<ReceivedMessage> {
    return receivedMessage(await this.nextOrThrow());
  }

  /**
   * The next message as text. A binary message rejects with `MessageTypeError` (and is
   * consumed; the connection stays open). Over `maxLength` UTF-8 bytes: `TooLargeError` with
   * `partial`, the longest prefix that ends on a code-point boundary.
   */
  async receiveText(maxLength: number): Promise<string> {
    return textWithin(await this.nextOrThrow(), maxLength);
  }

  /**
   * The next binary message, copied into `buffer`; resolves to its length. A text message
   * rejects with `MessageTypeError`; a longer one fills `buffer` and rejects with
   * `TooLargeError` (`partial` = bytes copied).
   */
  async receiveBinary(buffer: Uint8Array): Promise<number> {
    return copyBinary(await this.nextOrThrow(), buffer);
  }

  /**
   * Decoded messages in the endpoint's mode, until the connection ends. Undecodable ones
   * follow `onInvalidMessage`: `close` (1007, error on `errors`, iteration ends), `skip`, or
   * `error` (reported on `errors`, iteration goes on).
   */
  get messages(): AsyncIterable<T> {
    return { [Symbol.asyncIterator]: () => this.inboxOf().messages() };
  }

  /** Every read, write, protocol and timeout error, until the connection has ended. */
  get errors(): AsyncIterable<RealtimeError> {
    return { [Symbol.asyncIterator]: () => this.inboxOf().errors() };
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
    checkClose(code, reason);
    if (this.stateValue !== 'open') throw this.closedError();
    await this.closeWith(code, reason);
  }

  /** go-macaron's `disconnect` channel: close with `code` (validated as in `close`). */
  disconnect(code = 1000): Promise<void> {
    return this.close(code);
  }
}
