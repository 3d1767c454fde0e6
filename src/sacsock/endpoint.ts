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
 *   one closes the socket with 1009 (`ERR_TOO_LARGE`).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { newSocketId, redactSessionId } from '../hub/ids.js';
import { WebSocketServer, type WebSocket } from 'ws';
import { SUBPROTOCOL } from '../codecs/sac-sock.js';
import { RealtimeError } from '../errors.js';
import { Admission, type AuthorizeHook } from '../http/admission.js';
import { isOriginAllowed, isSameOrigin, type OriginRule } from '../http/origins.js';
import type { Host } from '../hub/host.js';
import type { DisconnectInfo } from '../hub/results.js';
import { handOverErrors, rejectUpgrade, validateUpgrade } from '../http/upgrade.js';
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
  private readonly admission: Admission;

  constructor(
    private readonly options: SacSockEndpointOptions,
    private readonly host: Host,
  ) {
    const { origins } = options;
    // §6.1: the Origin's host must equal the Host header; no Origin (a non-browser client) passes.
    const origin =
      origins === 'same-origin'
        ? (req: IncomingMessage) =>
            req.headers.origin === undefined || isSameOrigin(req.headers.origin, req.headers.host)
        : (req: IncomingMessage) => isOriginAllowed(origins, req.headers.origin);
    this.admission = new Admission({ origin, authorize: options.authorize }, host);
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

  /** The open sockets (the dashboard ranks their queues). */
  values(): IterableIterator<SacSocket> {
    return this.sockets.values();
  }

  match(pathname: string): boolean {
    return pathname === this.options.path;
  }

  handle(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.admit(req)
      .then((refusal) => {
        if (refusal !== null) return rejectUpgrade(socket, refusal);
        // Counted from here until the TCP connection closes, whatever becomes of the handshake.
        const slot = this.admission.reserve(req);
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
        this.host.reportError(error);
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
    return validateUpgrade(req) ?? (await this.admission.check(req));
  }

  private accept(ws: WebSocket, tcp: Duplex, req: IncomingMessage): void {
    const { rooms, events } = this.host;
    const socket = new SacSocket(
      newSocketId(SOCKET_ID_LENGTH),
      this.host.clientAddress(req),
      ws,
      tcp,
      this.options.limits,
      {
        rooms,
        instruments: this.host.instruments,
        onFrame: (from, event, payload) => events.dispatch(from, event, payload),
        onDroppedFrame: (_from, _bytes, error) => {
          this.droppedFrames++;
          if (error !== undefined) this.host.reportError(error);
        },
        onClose: (from, info) => this.forget(from, info),
      },
    );
    this.sockets.add(socket);
    this.live.add(socket);
    void socket.closed.then(() => this.live.delete(socket));
    rooms.adapter.addMember(socket);
    this.host.instruments.opened('sacsock', 'websocket');
    this.host.log()?.info(
      {
        family: 'sacsock',
        transport: 'websocket',
        sessionId: redactSessionId(socket.id),
        remoteAddress: socket.remoteAddress,
        origin: req.headers.origin,
      },
      'session opened',
    );
    events.connected(socket);
  }

  private forget(socket: SacSocket, info: DisconnectInfo): void {
    if (!this.sockets.delete(socket)) return;
    this.host.rooms.adapter.removeMember(socket.id);
    this.host.instruments.closed('sacsock', 'websocket', info.reason);
    const durationMs = Date.now() - socket.openedAt;
    const { reason, lostMessages } = info;
    const fields = { family: 'sacsock', sessionId: redactSessionId(socket.id), reason, durationMs, lostMessages };
    this.host.log()?.info(fields, 'session closed');
    this.host.events.disconnected(socket, info);
  }
}
