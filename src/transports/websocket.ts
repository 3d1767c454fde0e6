/**
 * websocket (docs/protocol/socketio-0.6.md §4.1): RFC 6455 through `ws`. Each payload is one text
 * message; the first one a new session sends is its session id. The client never reconnects with a
 * session id, but `/socket.io/websocket/<sessionId>` re-attaches to a live session all the same.
 */
import type { Duplex } from 'node:stream';
import { WebSocket, type RawData } from 'ws';
import type { SessionWebSocket, SocketOwner } from './session-websocket.js';
import { receiveOnSocket, type SessionPort } from '../session/transport.js';
import type { PreparedMessage } from '../hub/prepared.js';
import type { UpgradeTransportModule } from './module.js';
import type { Transport, TransportName, WriteResult } from '../session/transport.js';
import { dataFrame, TickCork } from '../wire/ws-frame.js';
import { waitForDrain } from '../wire/overflow.js';

export class WebSocketTransport implements Transport, SocketOwner {
  // Constant members are getters on the prototype: fields would sit on every idle session.
  get persistent(): true {
    return true;
  }
  /**
   * Each write's callback (ws's send callback, or the socket's for a prepared frame) comes
   * in write order, without an error once the socket took the bytes. Node calls the callback
   * of a write cut short by the socket's destruction without an error too, so a callback that
   * finds the socket destroyed counts as not delivered.
   */
  get confirmsDelivery(): true {
    return true;
  }
  /** @internal (DrainWaiter) */
  isWaitingForDrain = false;
  /** Every write's callback: a bound method, lighter than a closure and its context. */
  private readonly onSent: (error?: Error | null) => void = this.sent.bind(this);
  /** Made on the first fan-out write: most idle sessions never get one. */
  private cork: TickCork | null = null;
  /** Prepared frames go to the socket directly where ws's order allows (see ws-frame.ts). */
  private readonly canWriteFrames: boolean;

  constructor(
    readonly name: TransportName,
    private readonly ws: SessionWebSocket,
    private readonly socket: Duplex,
    private readonly conn: SessionPort,
    private readonly highWaterMarkBytes: number,
  ) {
    this.canWriteFrames = ws.extensions === '';
    ws.owner = this;
    ws.on('message', onWsMessage);
    // 'close' fires once: `on` spares the wrapper `once` keeps per idle session.
    ws.on('close', onWsClose);
    // Errors (bad frames, resets) end in 'close'; ws has already sent the right close code.
    ws.on('error', ignoreError);
  }

  write(payload: string, shared?: PreparedMessage): WriteResult {
    if (this.ws.readyState !== WebSocket.OPEN) return 'closed';
    if (shared !== undefined && this.canWriteFrames) {
      // A fan-out: the framed bytes are made once and shared by every recipient socket,
      // and a burst of them leaves in one write (see ws-frame.ts).
      (this.cork ??= new TickCork(this.socket)).cork();
      this.socket.write(
        shared.encoded(`websocket:${this.conn.codec.name}`, () => dataFrame(payload)),
        this.onSent,
      );
    } else {
      this.ws.send(payload, this.onSent);
    }
    if (this.ws.bufferedAmount <= this.highWaterMarkBytes) return 'written';
    this.waitForDrain();
    return 'buffered';
  }

  close(code = 1000, reason = ''): void {
    // A peer that reads nothing (its queue overflowed) would not read a close frame either: cut
    // it off rather than hold its buffer until ws's close timeout. Any other close (a protocol
    // error, a shutdown) sends its close frame behind what is buffered, so the peer learns why.
    if (reason === 'queue-overflow') {
      this.ws.terminate();
      return;
    }
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.close(code, reason.slice(0, 123));
    }
  }

  /** @internal the socket's 'message' listener */
  onMessage(data: RawData, isBinary: boolean): void {
    if (isBinary) {
      this.ws.close(1003, 'ERR_INVALID_MESSAGE: binary messages are not part of the protocol');
      return;
    }
    // ws has validated the UTF-8 of text messages (invalid → close 1007).
    receiveOnSocket(this.conn, data.toString());
  }

  private sent(error?: Error | null): void {
    this.conn.settle(this, error == null && !this.socket.destroyed);
  }

  /** @internal the socket closed */
  detached(): void {
    this.conn.detach(this);
  }

  private waitForDrain(): void {
    waitForDrain(this.socket, this);
  }

  /** @internal (DrainWaiter) */
  isBackedUp(): boolean {
    return this.ws.bufferedAmount > this.highWaterMarkBytes;
  }

  /** @internal (DrainWaiter) */
  drained(): void {
    this.conn.onDrain(this);
  }
}

// Shared listeners: `this` is the socket (one of SessionWebSocket's), its owner the transport.
function onWsMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  (this as SessionWebSocket).owner?.onMessage(data, isBinary);
}

function onWsClose(this: WebSocket): void {
  const socket = this as SessionWebSocket;
  const transport = socket.owner;
  socket.owner = null;
  transport?.detached();
}

function ignoreError(): void {
  // See the constructor: the 'close' that follows is what matters.
}

export const websocket: UpgradeTransportModule = {
  name: 'websocket',
  kind: 'upgrade',
  accept(ws: SessionWebSocket, socket: Duplex, conn: SessionPort, highWaterMarkBytes: number): void {
    conn.attach(new WebSocketTransport('websocket', ws, socket, conn, highWaterMarkBytes));
  },
};
