/**
 * websocket (§4.1): RFC 6455 through `ws`. Each payload is one text message; the first one
 * a new session sends is its session id. The client never reconnects with a session id,
 * but `/socket.io/websocket/<sessionId>` re-attaches to a live session all the same.
 */
import type { Duplex } from 'node:stream';
import { WebSocket, type RawData } from 'ws';
import type { Conn } from '../session/conn.js';
import type { UpgradeTransportModule } from './index.js';
import type { Transport, TransportName, WriteResult } from './types.js';

export class WebSocketTransport implements Transport {
  readonly persistent = true;
  /**
   * ws calls each send's callback in order: without an error once the socket took the bytes.
   * Node calls the callback of a write cut short by the socket's destruction without an error
   * too, so a callback that finds the socket destroyed counts as not delivered.
   */
  readonly confirmsDelivery = true;
  private isWaitingForDrain = false;
  private readonly onSent = (error?: Error | null): void =>
    this.conn.settle(this, error == null && !this.socket.destroyed);

  constructor(
    readonly name: TransportName,
    private readonly ws: WebSocket,
    private readonly socket: Duplex,
    private readonly conn: Conn,
    private readonly highWaterMarkBytes: number,
  ) {
    ws.on('message', (data: RawData, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.once('close', () => conn.detach(this));
    // Errors (bad frames, resets) end in 'close'; ws has already sent the right close code.
    ws.on('error', () => undefined);
  }

  write(payload: string): WriteResult {
    if (this.ws.readyState !== WebSocket.OPEN) return 'closed';
    this.ws.send(payload, this.onSent);
    if (this.ws.bufferedAmount <= this.highWaterMarkBytes) return 'written';
    this.waitForDrain();
    return 'buffered';
  }

  close(code = 1000, reason = ''): void {
    // A backed-up peer would not read a close frame either: cut it off rather than hold its
    // buffer — except in a graceful shutdown, which lets the buffer drain up to its deadline.
    if (reason !== 'shutdown' && this.ws.bufferedAmount > this.highWaterMarkBytes) {
      this.ws.terminate();
      return;
    }
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.close(code, reason.slice(0, 123));
    }
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (isBinary) {
      this.ws.close(1003, 'ERR_INVALID_MESSAGE: binary messages are not part of the protocol');
      return;
    }
    // ws has validated the UTF-8 of text messages (invalid → close 1007).
    const error = this.conn.receive(data.toString());
    if (error !== null && error.code !== 'ERR_SESSION_CLOSED') {
      this.conn.close('protocol-error', error);
    }
  }

  private waitForDrain(): void {
    if (this.isWaitingForDrain) return;
    this.isWaitingForDrain = true;
    this.socket.once('drain', () => {
      this.isWaitingForDrain = false;
      if (this.ws.bufferedAmount > this.highWaterMarkBytes) this.waitForDrain();
      else this.conn.onDrain(this);
    });
  }
}

export const websocket: UpgradeTransportModule = {
  name: 'websocket',
  kind: 'upgrade',
  accept(ws: WebSocket, socket: Duplex, conn: Conn, highWaterMarkBytes: number): void {
    conn.attach(new WebSocketTransport('websocket', ws, socket, conn, highWaterMarkBytes));
  },
};
