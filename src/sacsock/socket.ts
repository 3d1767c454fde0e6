/**
 * One sac-sock connection: a `Socket` over a `ws` WebSocket. It parses incoming frames
 * (docs/protocol/sac-sock.md §2.3), encodes outgoing ones once per fan-out (the `sac-sock` format
 * key of PreparedMessage), bounds what waits unsent, and closes with a real close frame (the Go
 * server sent none, so its clients saw 1006).
 */
import type { Duplex } from 'node:stream';
import { WebSocket, type RawData } from 'ws';
import { encodeServerFrame, parseClientFrame, type SacSockFrame } from '../codecs/sac-sock.js';
import { bytesExceedJsonDepth, tooDeep } from '../codecs/json-depth.js';
import type { DecodeResult } from '../codecs/types.js';
import { RealtimeError } from '../errors.js';
import type { DisconnectInfo, DisconnectReason, QueueOverflowPolicy, SendResult } from '../hub/results.js';
import { PreparedMessage } from '../hub/prepared.js';
import type { Rooms, Socket } from '../hub/rooms.js';
import type { Instruments } from '../hub/instruments.js';
import { overflow } from '../wire/overflow.js';
import { allowOne, type Bucket } from '../http/rate-limit.js';
import { dataFrame, TickCork } from '../wire/ws-frame.js';

/** The PreparedMessage format key of sac-sock frames. */
export const SAC_SOCK_FORMAT = 'sac-sock';
/** The PreparedMessage format key of sac-sock frames framed as RFC 6455 data frames. */
const SAC_SOCK_WS_FORMAT = 'sac-sock:rfc6455';
/** The event name a plain message (one without an event) is sent under. */
export const PLAIN_MESSAGE_EVENT = 'message';

export interface SacSocketLimits {
  /** Most frames handed to the socket and not yet written out. */
  readonly maxQueueMessages: number;
  /** Most unsent bytes beyond `wsHighWaterMarkBytes`. */
  readonly maxQueueBytes: number;
  readonly wsHighWaterMarkBytes: number;
  readonly queueOverflow: QueueOverflowPolicy;
  /** A JSON payload (one starting with `[` or `{`) nested deeper than this is dropped; 0 = no bound. */
  readonly maxJsonDepth: number;
  /** Frames per second from the client; over it they are dropped and counted. 0 = no limit. */
  readonly maxMessagesPerSecond: number;
}

export interface SacSocketHooks {
  readonly rooms: Rooms;
  /** Counts messages in, out and lost, and overflows (family `sacsock`). */
  readonly instruments: Instruments;
  onFrame(socket: SacSocket, event: string, payload: Buffer): void;
  /**
   * A frame without 0x02 or with an empty name, or a JSON payload nested deeper than `maxJsonDepth`
   * (with its error): dropped, the connection stays (docs/protocol/sac-sock.md §2.3).
   */
  onDroppedFrame(socket: SacSocket, bytes: number, error?: RealtimeError): void;
  onClose(socket: SacSocket, info: DisconnectInfo): void;
}

const OPEN_BRACKET = 0x5b;
const OPEN_BRACE = 0x7b;

const SENT: SendResult = Object.freeze({ ok: true });

function encodeFrame(message: PreparedMessage): DecodeResult<SacSockFrame> {
  return encodeServerFrame(message.event ?? PLAIN_MESSAGE_EVENT, message.value, () => message.jsonText());
}

export class SacSocket implements Socket {
  readonly protocol = 'sac-sock' as const;
  /** Resolves once the websocket has closed (close handshake done, or the TCP connection gone). */
  readonly closed: Promise<void>;
  /** When the socket was accepted (ms since the epoch), for its close log line. */
  readonly openedAt = Date.now();
  private isClosing = false;
  private isOverLimit = false;
  /** The inbound rate's bucket, made on the first frame when `maxMessagesPerSecond` is set. */
  /** @internal (RateHolder) */
  inboundBucket: Bucket | null = null;
  /** Frames dropped for going over `maxMessagesPerSecond`. */
  rateLimitedFrames = 0;
  private pending = 0;
  private readonly onSent = (): void => {
    this.pending--;
  };
  /** Fan-out frames go to the socket directly where ws's order allows (see ws-frame.ts). */
  private readonly canWriteFrames: boolean;
  /** Made on the first fan-out write. */
  private cork: TickCork | null = null;

  constructor(
    readonly id: string,
    readonly remoteAddress: string,
    private readonly ws: WebSocket,
    /** The websocket's TCP socket. */
    private readonly socket: Duplex,
    private readonly limits: SacSocketLimits,
    private readonly hooks: SacSocketHooks,
  ) {
    this.canWriteFrames = ws.extensions === '';
    ws.on('message', (data: RawData, isBinary: boolean) => this.onMessage(toBuffer(data), isBinary));
    // 'close' fires once: `on` spares the `once` wrapper each idle socket would keep.
    this.closed = new Promise((resolve) => ws.on('close', (code: number) => resolve(this.onWsClose(code))));
    // Errors (an over-limit frame, a reset) end in 'close'; ws has sent the close code.
    ws.on('error', (error: Error & { code?: string }) => {
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.isOverLimit = true;
    });
  }

  get isOpen(): boolean {
    return !this.isClosing && this.ws.readyState === WebSocket.OPEN;
  }

  /** Frames handed to the socket and not yet written out. */
  get unsentMessages(): number {
    return this.pending;
  }

  /** A message prepared for many recipients (fan-out): its framed bytes are shared (ws-frame.ts). */
  deliver(message: PreparedMessage): SendResult {
    return this.write(message, true);
  }

  emit(event: string, data: unknown): SendResult {
    return this.write(new PreparedMessage(data, event), false);
  }

  send(value: unknown): SendResult {
    return this.write(new PreparedMessage(value), false);
  }

  private write(message: PreparedMessage, isFanOut: boolean): SendResult {
    if (!this.isOpen) return { ok: false, error: new RealtimeError('ERR_CLOSED', 'the socket is closed') };
    const encoded = message.encoded(SAC_SOCK_FORMAT, encodeFrame);
    if (!encoded.ok) return encoded;
    const { data, isBinary } = encoded.value;
    const { maxQueueMessages, maxQueueBytes, wsHighWaterMarkBytes } = this.limits;
    if (
      this.pending >= maxQueueMessages ||
      this.ws.bufferedAmount + data.length > wsHighWaterMarkBytes + maxQueueBytes
    ) {
      return this.overflow();
    }
    this.pending++;
    this.hooks.instruments.sent('sacsock', 1);
    if (isFanOut && this.canWriteFrames) {
      (this.cork ??= new TickCork(this.socket)).cork();
      this.socket.write(
        message.encoded(SAC_SOCK_WS_FORMAT, () => dataFrame(data, isBinary)),
        this.onSent,
      );
    } else {
      this.ws.send(data, { binary: isBinary }, this.onSent);
    }
    return SENT;
  }

  join(room: string): boolean {
    return this.hooks.rooms.join(this.id, room);
  }

  leave(room: string): boolean {
    return this.hooks.rooms.leave(this.id, room);
  }

  rooms(): string[] {
    return this.hooks.rooms.rooms(this.id);
  }

  inRoom(room: string): boolean {
    return this.hooks.rooms.inRoom(this.id, room);
  }

  /** Closes with a close frame after what was sent so far; idempotent. */
  close(code = 1000, reason = ''): void {
    this.end(code, reason, 'server');
  }

  /** Graceful shutdown: what was handed over goes out, then a close frame with 1001. */
  shutdown(): void {
    this.end(1001, 'server shutting down', 'shutdown');
  }

  /** Cuts the connection at once (the drain deadline passed). */
  terminate(): void {
    this.ws.terminate();
  }

  private end(code: number, reason: string, why: DisconnectReason, error?: RealtimeError): void {
    if (this.isClosing) return;
    this.isClosing = true;
    // Counted before the close: frames handed to ws and not yet written out. Nothing is lost
    // silently: a socket that closes with some still unsent reports them.
    const unsent = this.pending;
    if (unsent > 0 && why !== 'client') this.hooks.instruments.lost('sacsock', 'closed', unsent);
    if (why === 'queue-overflow') {
      // The peer reads nothing, so it would not read a close frame either: cut it off now
      // rather than hold its buffer until ws's close timeout.
      this.ws.terminate();
    } else if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.close(code, reason.slice(0, 123));
    }
    const counts =
      unsent > 0 ? { reason: why, lostMessages: 0, unsettledMessages: unsent } : { reason: why, lostMessages: 0 };
    this.hooks.onClose(this, error === undefined ? counts : { ...counts, error });
  }

  private overflow(): SendResult {
    const { maxQueueMessages, maxQueueBytes, queueOverflow } = this.limits;
    const limits = `${maxQueueMessages} messages / ${maxQueueBytes} bytes`;
    this.hooks.instruments.overflowed('sacsock');
    return overflow(queueOverflow, limits, (error) => this.end(error.closeCode, error.code, 'queue-overflow', error));
  }

  private onMessage(frame: Buffer, isBinary: boolean): void {
    if (this.isClosing) return;
    const inbound = parseClientFrame(frame, isBinary);
    if (inbound === null) {
      this.hooks.onDroppedFrame(this, frame.length);
      return;
    }
    if (this.isOverRate()) {
      this.hooks.onDroppedFrame(this, frame.length);
      return;
    }
    const { payload } = inbound;
    const first = payload[0];
    if ((first === OPEN_BRACKET || first === OPEN_BRACE) && bytesExceedJsonDepth(payload, this.limits.maxJsonDepth)) {
      this.hooks.onDroppedFrame(this, frame.length, tooDeep(this.limits.maxJsonDepth));
      return;
    }
    // The fault boundary of one inbound frame: handlers are guarded where they run, so a
    // throw here is ours; it must not escape a ws listener and end the process.
    this.hooks.instruments.received('sacsock', 1);
    try {
      this.hooks.onFrame(this, inbound.event, payload);
    } catch (cause) {
      const error = new RealtimeError('ERR_HANDLER_FAILED', 'a frame could not be handled', { cause });
      this.hooks.onDroppedFrame(this, frame.length, error);
    }
  }

  /** Over `maxMessagesPerSecond`: the frame is dropped and counted, the socket stays. */
  private isOverRate(): boolean {
    if (allowOne(this, this.limits.maxMessagesPerSecond)) return false;
    this.rateLimitedFrames++;
    return true;
  }

  private onWsClose(code: number): void {
    if (this.isClosing) return;
    if (this.isOverLimit) {
      const error = new RealtimeError('ERR_TOO_LARGE', 'a frame exceeded sacSockMaxMessageBytes');
      this.end(code, '', 'protocol-error', error);
    } else {
      this.end(code, '', 'client');
    }
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
