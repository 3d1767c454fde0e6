/**
 * The websocket drafts of 2010–2011, hixie-75 and hixie-76, for websocket and flashsocket: Safari
 * 5, iOS 4/5, Chrome ≤ 13, and Flash's web-socket-js (docs/protocol/socketio-0.6.md §4.1, §4.2).
 * Handshake and framing (`0x00` + UTF-8 + `0xFF`) come from websocket-driver; RFC 6455 stays on
 * `ws`. Each payload is one frame, as on the RFC 6455 path.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { createRequire } from 'node:module';
import type { Driver } from 'websocket-driver';
import { receiveOnSocket, type SessionPort } from '../session/transport.js';
import type { Transport, TransportName, WriteResult } from '../session/transport.js';
import { WriteSettlement } from '../wire/write-settlement.js';
import { waitForDrain } from '../wire/overflow.js';

/**
 * websocket-driver, loaded on the first draft handshake: a deployment whose clients all speak
 * RFC 6455 never loads it (some 8 MiB of RSS with its dependencies). It is CommonJS, so a
 * synchronous require keeps the handshake synchronous.
 */
let websocketDriver: typeof import('websocket-driver').default | null = null;

function driverModule(): typeof import('websocket-driver').default {
  websocketDriver ??= createRequire(import.meta.url)('websocket-driver') as typeof import('websocket-driver').default;
  return websocketDriver;
}

/**
 * A draft handshake: no `Sec-WebSocket-Version` and no `Sec-WebSocket-Key` (RFC 6455 has
 * both). `Sec-WebSocket-Key1`/`Key2` mark hixie-76; neither marks hixie-75.
 */
export function isHixieRequest(req: IncomingMessage): boolean {
  return req.headers['sec-websocket-version'] === undefined && req.headers['sec-websocket-key'] === undefined;
}

export interface HixieHandshake {
  req: IncomingMessage;
  socket: Duplex;
  head: Buffer;
  maxPayloadBytes: number;
  /** How long the handshake may take, key3 included. */
  timeoutMs: number;
  /** Called once the handshake is complete; returns the session to attach, or null to close. */
  onOpen(): Promise<SessionPort | null>;
  /** `Set-Cookie` values for the handshake response (the session cookie). */
  cookies?: readonly string[];
}

/**
 * Runs the handshake on the raw socket. A bad one (wrong keys, say) is answered 400 by
 * the driver and the socket is ended; no session is made before it completes.
 */
export function acceptHixie(handshake: HixieHandshake, name: TransportName, highWaterMarkBytes: number): void {
  const { req, socket, head, maxPayloadBytes, timeoutMs, onOpen } = handshake;
  const driver = driverModule().http(req, { maxLength: maxPayloadBytes });
  for (const cookie of handshake.cookies ?? []) driver.setHeader('Set-Cookie', cookie);
  // A hixie-76 client that never sends its 8-byte key3 would hold the socket forever.
  const handshakeTimer = setTimeout(() => socket.destroy(), timeoutMs);
  let transport: HixieTransport | null = null;
  const io = connectDriver(driver, socket, () => {
    clearTimeout(handshakeTimer);
    transport?.onClosed();
  });
  driver.on('open', () => {
    clearTimeout(handshakeTimer);
    void onOpen().then((conn) => {
      if (conn === null) {
        driver.close();
        socket.end();
        return;
      }
      // The client may have gone while its session was being saved (in a cluster).
      if (socket.destroyed) return;
      transport = new HixieTransport(name, driver, socket, io, conn, highWaterMarkBytes);
      conn.attach(transport);
    });
  });
  // The hixie-76 key3 (8 bytes) usually arrives with the headers, in `head`.
  if (head.length > 0) driver.parse(head);
  driver.start();
}

/**
 * The driver's output: once open, each `driver.text()` emits its frame synchronously, so a
 * callback set just before it is the one of that frame's socket write.
 */
interface DriverOutput {
  nextCallback: ((error?: Error | null) => void) | undefined;
}

/** Bytes both ways between driver and socket; `onEnded` once either side is done. */
function connectDriver(driver: Driver, socket: Duplex, onEnded: () => void): DriverOutput {
  const output: DriverOutput = { nextCallback: undefined };
  driver.io.on('data', (chunk: Buffer) => {
    const callback = output.nextCallback;
    output.nextCallback = undefined;
    if (socket.writable) socket.write(chunk, callback);
    else callback?.(new Error('the socket is gone'));
  });
  socket.on('data', (chunk: Buffer) => driver.parse(chunk));
  // Draft sockets have no close code; a protocol error or an oversized message ends here too.
  driver.on('close', () => {
    socket.end();
    onEnded();
  });
  // Protocol errors are followed by 'close', which ends the socket; nothing more to do here.
  driver.on('error', () => undefined);
  // Upgraded sockets of Node's HTTP server allow half-open; a client's FIN ends ours too.
  socket.once('end', () => socket.end());
  socket.on('close', () => {
    driver.close();
    onEnded();
  });
  return output;
}

class HixieTransport implements Transport {
  readonly persistent = true;
  /** Each frame is settled by its socket write callback (see {@link WriteSettlement}). */
  readonly confirmsDelivery = true;
  private isClosed = false;
  /** @internal (DrainWaiter) */
  isWaitingForDrain = false;
  private readonly settlement: WriteSettlement;

  constructor(
    readonly name: TransportName,
    private readonly driver: Driver,
    private readonly socket: Duplex,
    private readonly output: DriverOutput,
    private readonly conn: SessionPort,
    private readonly highWaterMarkBytes: number,
  ) {
    this.settlement = new WriteSettlement(this, conn, () => socket.destroyed);
    driver.on('message', (event) => this.onMessage(event.data));
  }

  write(payload: string): WriteResult {
    if (this.isClosed || !this.socket.writable) return 'closed';
    this.settlement.began();
    this.output.nextCallback = this.settlement.onWritten;
    if (!this.driver.text(payload) || this.output.nextCallback !== undefined) {
      // The driver wrote nothing (it is closing): nothing was handed over.
      this.output.nextCallback = undefined;
      this.settlement.withdrew();
      return 'closed';
    }
    if (this.socket.writableLength <= this.highWaterMarkBytes) return 'written';
    this.waitForDrain();
    return 'buffered';
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    // hixie-76 sends its closing handshake (0xFF 0x00); hixie-75 has none.
    this.driver.close();
    this.socket.end();
  }

  /** @internal the socket or the driver ended */
  onClosed(): void {
    this.isClosed = true;
    this.settlement.onSocketClosed();
    this.conn.detach(this);
  }

  private onMessage(data: string | Buffer): void {
    // Draft frames carry only text; the driver has decoded it as UTF-8.
    receiveOnSocket(this.conn, typeof data === 'string' ? data : data.toString('utf8'));
  }

  private waitForDrain(): void {
    waitForDrain(this.socket, this);
  }

  /** @internal (DrainWaiter) */
  isBackedUp(): boolean {
    return this.socket.writableLength > this.highWaterMarkBytes;
  }

  /** @internal (DrainWaiter) */
  drained(): void {
    this.conn.onDrain(this);
  }
}
