/**
 * The sac-sock websocket endpoint (default path `/socket`): the upgrade checks of §1 and §6 item 1
 * (docs/protocol/sac-sock.md), the `sac-sock` subprotocol, and the sockets it accepted. It sends
 * nothing on connect; every socket joins its private room before the connect listeners run, and has
 * left every room before the disconnect listeners run (§4).
 *
 * Policy choices where the Go server left room:
 * - A client that offers no subprotocol (or others only) is accepted with none named, as
 *   gorilla does; the browser client always offers `sac-sock` and gets it echoed.
 * - Frames are limited to `sacSockMaxMessageBytes` (the original had no limit); a larger
 *   one closes the socket with 1009 (`ERR_FRAME_TOO_LARGE`).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { newSocketId } from '../session/ids.js';
import { WebSocketServer, type WebSocket } from 'ws';
import { SUBPROTOCOL } from '../codecs/sac-sock.js';
import { RealtimeError } from '../errors.js';
import type { AuthorizeHook } from '../options.js';
import { isOriginAllowed, type OriginRule } from '../origins.js';
import type { DisconnectInfo } from '../session/conn.js';
import type { EventHub } from '../session/events.js';
import type { Rooms } from '../session/rooms.js';
import { handOverErrors, rejectUpgrade, validateUpgrade } from '../upgrade.js';
import { SacSocket, type SacSocketLimits } from './socket.js';

/** Length of a socket id: 32 nanoid characters, about 190 random bits. */
export const SOCKET_ID_LENGTH = 32;

export interface SacSockEndpointOptions {
  readonly path: string;
  readonly maxMessageBytes: number;
  /**
   * 'same-origin' (docs/protocol/sac-sock.md §1, §6 item 1: the Origin's host must equal the Host
   * header) or an allow-list.
   */
  readonly origins: 'same-origin' | readonly OriginRule[];
  readonly limits: SacSocketLimits;
  readonly authorize: AuthorizeHook | undefined;
}

/** What the endpoint needs from the server that mounts it. */
export interface SacSockContext {
  readonly rooms: Rooms;
  readonly events: EventHub;
  readonly isShuttingDown: () => boolean;
  readonly onError: (error: unknown) => void;
  /**
   * Counts one socket in the server's connection budget (`maxConnections`,
   * `maxConnectionsPerAddress`): the release to call when it closes, or the refusal.
   */
  readonly reserve: (remoteAddress: string) => RealtimeError | (() => void);
}

export class SacSockEndpoint {
  private readonly wss: WebSocketServer;
  /** Sockets in the room model (from accept until they close or are closed). */
  private readonly sockets = new Set<SacSocket>();
  /** Sockets whose TCP connection is still there (a closing one stays until the handshake ends). */
  private readonly live = new Set<SacSocket>();
  /**
   * Frames dropped for lacking 0x02 or a name (docs/protocol/sac-sock.md §2.3); events without a
   * handler are not counted.
   */
  droppedFrames = 0;

  constructor(
    private readonly options: SacSockEndpointOptions,
    private readonly context: SacSockContext,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: options.maxMessageBytes,
      perMessageDeflate: false,
      handleProtocols: (offered) => (offered.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    });
  }

  /** Open sockets. */
  get size(): number {
    return this.sockets.size;
  }

  match(pathname: string): boolean {
    return pathname === this.options.path;
  }

  handle(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.admit(req)
      .then((refusal) => {
        if (refusal !== null) return rejectUpgrade(socket, refusal);
        // Counted from here until the TCP connection closes, whatever becomes of the handshake.
        const slot = this.context.reserve(req.socket.remoteAddress ?? '');
        if (slot instanceof RealtimeError) return rejectUpgrade(socket, slot);
        // 'close' fires once (and the release is idempotent): `on` spares a `once` wrapper per socket.
        socket.on('close', slot);
        if (socket.destroyed) return slot();
        this.wss.handleUpgrade(req, socket, head, (ws) => {
          handOverErrors(socket);
          this.accept(ws, socket, req);
        });
      })
      // Anything thrown on the way (a connect listener's failure is caught by the EventHub)
      // is reported, never left as an unhandled rejection.
      .catch((error: unknown) => {
        this.context.onError(error);
        socket.destroy();
      });
  }

  /** Graceful shutdown: every socket gets its close frame (1001); resolves once all have closed. */
  shutdown(): Promise<void> {
    const sockets = [...this.live];
    for (const socket of sockets) socket.shutdown();
    return Promise.all(sockets.map((socket) => socket.closed)).then(() => undefined);
  }

  /** Cuts what is still connected (the drain deadline passed). */
  terminate(): void {
    for (const socket of this.live) socket.terminate();
  }

  private async admit(req: IncomingMessage): Promise<RealtimeError | null> {
    // ws would refuse a malformed handshake in plain text; refuse it first, as JSON.
    const malformed = validateUpgrade(req);
    if (malformed !== null) return malformed;
    if (this.context.isShuttingDown()) return new RealtimeError('ERR_SHUTTING_DOWN', 'the server is shutting down');
    if (!this.isOriginAllowed(req)) return new RealtimeError('ERR_ORIGIN_REFUSED', 'this origin is not allowed');
    if (!(await this.isAuthorized(req))) {
      return new RealtimeError('ERR_UNAUTHORIZED', 'the authorization hook refused this request');
    }
    return null;
  }

  /** A hook that throws or rejects refuses (401, as on the legacy resource); its failure is reported. */
  private async isAuthorized(req: IncomingMessage): Promise<boolean> {
    const authorize = this.options.authorize;
    if (authorize === undefined) return true;
    try {
      return await authorize(req);
    } catch (error) {
      this.context.onError(error);
      return false;
    }
  }

  private isOriginAllowed(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (this.options.origins !== 'same-origin') return isOriginAllowed(this.options.origins, origin);
    if (origin === undefined) return true;
    let host: string;
    try {
      host = new URL(origin).host;
    } catch {
      // An Origin that is no URL (`null` from sandboxed frames) cannot be same-origin.
      return false;
    }
    return host !== '' && host.toLowerCase() === (req.headers.host ?? '').toLowerCase();
  }

  private accept(ws: WebSocket, tcp: Duplex, req: IncomingMessage): void {
    const { rooms, events } = this.context;
    const socket = new SacSocket(
      newSocketId(SOCKET_ID_LENGTH),
      req.socket.remoteAddress ?? '',
      ws,
      tcp,
      this.options.limits,
      {
        rooms,
        onFrame: (from, event, payload) => events.dispatch(from, event, payload),
        onDroppedFrame: (_from, _bytes, error) => {
          this.droppedFrames++;
          if (error !== undefined) this.context.onError(error);
        },
        onClose: (from, info) => this.forget(from, info),
      },
    );
    this.sockets.add(socket);
    this.live.add(socket);
    void socket.closed.then(() => this.live.delete(socket));
    rooms.adapter.addMember(socket);
    events.connected(socket);
  }

  private forget(socket: SacSocket, info: DisconnectInfo): void {
    if (!this.sockets.delete(socket)) return;
    this.context.rooms.adapter.removeMember(socket.id);
    this.context.events.disconnected(socket, info);
  }
}
