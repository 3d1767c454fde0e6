/**
 * Mounting and handshake of plain RFC 6455 endpoints (seehuhn's `Handler`, go-macaron's
 * route-scoped middleware). The checks run before `ws` sees the request, so every refusal
 * has a precise status and a JSON `{code, message}` body:
 *
 * | check                                   | status | code                        |
 * | --------------------------------------- | ------ | --------------------------- |
 * | method other than GET                   | 405 + `Allow: GET` | `ERR_METHOD_NOT_ALLOWED` |
 * | server shutting down                    | 503    | `ERR_SHUTTING_DOWN`         |
 * | `Upgrade` is not `websocket`            | 400    | `ERR_BAD_REQUEST`           |
 * | `Connection` lacks the `upgrade` token  | 400    | `ERR_BAD_REQUEST`           |
 * | `Sec-WebSocket-Version` is not 13       | 426 + `Sec-WebSocket-Version: 13` | `ERR_UNSUPPORTED_VERSION` |
 * | `Sec-WebSocket-Key` missing or malformed| 400    | `ERR_BAD_REQUEST`           |
 * | `Sec-WebSocket-Protocol` malformed      | 400    | `ERR_BAD_REQUEST`           |
 * | `Origin` unparsable                     | 400    | `ERR_BAD_REQUEST`           |
 * | `Origin` refused by `allowedOrigin`     | 403    | `ERR_ORIGIN_REFUSED`        |
 * | accept hook returned false              | 403    | `ERR_ACCESS_REFUSED`        |
 * | accept hook threw                       | 500    | `ERR_HANDLER_FAILED`        |
 * | hook chose a protocol not offered       | 500    | `ERR_PROTOCOL_NOT_OFFERED`  |
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type Server } from 'ws';
import { RealtimeError } from '../errors.js';
import { Admission, type AuthorizeHook } from '../http/admission.js';
import {
  checkHandshake,
  handOverErrors,
  offeredSubprotocols,
  rejectUpgrade,
  RFC6455_HANDSHAKE,
} from '../http/upgrade.js';
import type { Host } from '../hub/host.js';
import type { Release } from '../hub/results.js';
import { WebSocketConnection, type ConnectionFacts } from './connection.js';
import { ConnectionContext, type EndedListener } from './context.js';
import { EndpointSocket } from './endpoint-socket.js';
import { isPromiseLike } from './inbox.js';
import { resolveEndpointOptions, type ResolvedEndpointOptions, type WebSocketEndpointOptions } from './options.js';
import { formatRemoteAddress, type PendingConnection } from './pending.js';

/**
 * The application's code for one connection. It may return at once: the connection lives
 * until `done`. It may return anything; a returned promise's rejection is reported.
 */
export type ConnectionHandler<T> = (conn: WebSocketConnection<T>) => unknown;

export class WebSocketEndpoint<T = unknown> implements EndedListener<WebSocketConnection<T>> {
  readonly options: ResolvedEndpointOptions<T>;
  private readonly wss: Server<typeof EndpointSocket>;
  private readonly live = new Set<WebSocketConnection<T>>();
  /** The accept hook's choice per request, read back by ws's `handleProtocols` inside `handleUpgrade`. */
  private readonly protocols = new WeakMap<IncomingMessage, string>();
  private readonly admission: Admission;
  /** What every connection of this endpoint shares (options, timer lists, seams). */
  private readonly context: ConnectionContext<T, WebSocketConnection<T>>;
  /** Reports a handler's rejection: bound once, not a closure per connection. */
  private readonly reportError: (error: unknown) => void;

  constructor(
    readonly path: string,
    options: WebSocketEndpointOptions<T>,
    private readonly handler: ConnectionHandler<T>,
    private readonly host: Host,
    /** The server's `authorize` hook: one admission path for every family. */
    authorize?: AuthorizeHook,
  ) {
    if (!path.startsWith('/'))
      throw new RealtimeError('ERR_INVALID_OPTION', `an endpoint path starts with /, got "${path}"`);
    this.options = resolveEndpointOptions(options);
    this.context = new ConnectionContext(path, this.options, host, this);
    this.reportError = (error) => host.reportError(error);
    const { originCheck } = this.options;
    this.admission = new Admission(
      { origin: (req) => originCheck(req.headers.origin, req.headers.host ?? ''), authorize },
      host,
    );
    this.wss = new WebSocketServer({
      WebSocket: EndpointSocket,
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: this.options.maxMessageBytes,
      // The protocol was decided (and checked) before the upgrade; see `handle`.
      handleProtocols: (_offered, req) => this.chosenProtocol(req),
    });
    if (this.options.serverName !== '') {
      const line = `Server: ${this.options.serverName}`;
      this.wss.on('headers', (headers) => headers.push(line));
    }
  }

  /** Live connections of this endpoint (for fan-out and shutdown). */
  get connections(): ReadonlySet<WebSocketConnection<T>> {
    return this.live;
  }

  match(pathname: string): boolean {
    return pathname === this.path;
  }

  /** The upgrade listener: checks, accept hook, then hands the socket to `ws`. */
  handle(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.admit(req, socket, head).catch((error: unknown) => {
      this.host.reportError(error);
      socket.destroy();
    });
  }

  /** Ends every connection with 1001 (server shutdown). */
  shutdown(): void {
    // A connection the application is already closing rejects with ERR_CLOSED: it is
    // ending anyway, which is all shutdown asks.
    for (const conn of this.live) void conn.close(1001, 'server shutting down').catch(() => undefined);
  }

  private async admit(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const refusal = checkHandshake(req, RFC6455_HANDSHAKE, this.host.isShuttingDown());
    if (refusal !== null) return rejectUpgrade(socket, refusal.error, refusal.headers);
    const clientAddress = this.host.clientAddress(req);
    const pending = pendingOf(req, clientAddress, this.host.isSecure(req));
    if (pending instanceof RealtimeError) return rejectUpgrade(socket, pending);
    const offered = offeredSubprotocols(req);
    if (offered instanceof RealtimeError) return rejectUpgrade(socket, offered);
    // Shutdown was checked with the handshake: a new connection is all this can be.
    const admission = await this.admission.check(req, false);
    if (admission !== null) return rejectUpgrade(socket, admission);
    const verdict = await this.runAcceptHook(pending, offered);
    if (verdict instanceof RealtimeError) return rejectUpgrade(socket, verdict);
    this.protocols.set(req, verdict);
    const slot = this.admission.reserve(req);
    if (slot instanceof RealtimeError) return rejectUpgrade(socket, slot);
    if (socket.destroyed) return slot();
    const facts = factsOf(pending, clientAddress === req.socket.remoteAddress ? null : clientAddress);
    this.upgrade(req, socket, head, facts, slot);
  }

  /**
   * Hands the socket to `ws`. Without `verifyClient`, ws completes the upgrade (and calls
   * back) before `handleUpgrade` returns, or gives up on a socket that is no longer usable:
   * then the slot in the budget is released at once. Otherwise the connection releases it
   * when it closes, so the socket needs no 'close' listener of its own (a third one would
   * grow its listener array on every idle connection).
   */
  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, facts: ConnectionFacts, slot: Release): void {
    let isOpen = false;
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      isOpen = true;
      handOverErrors(socket);
      this.open(ws, socket, facts, slot);
    });
    if (!isOpen) slot();
  }

  /** The protocol chosen ('' for none), or the refusal. */
  private async runAcceptHook(pending: PendingConnection, offered: readonly string[]): Promise<string | RealtimeError> {
    const accept = this.options.accept;
    if (accept === undefined) return '';
    let result;
    try {
      result = await accept(pending, offered);
    } catch (cause) {
      this.host.reportError(cause);
      return new RealtimeError('ERR_HANDLER_FAILED', 'the accept hook failed', { cause });
    }
    if (result === false) return new RealtimeError('ERR_ACCESS_REFUSED', 'not allowed');
    const protocol = result === true ? '' : (result.protocol ?? '');
    if (protocol !== '' && !offered.includes(protocol)) {
      const error = new RealtimeError(
        'ERR_PROTOCOL_NOT_OFFERED',
        `the accept hook chose subprotocol "${protocol}", which the client did not offer (${offered.join(', ') || 'none'})`,
      );
      this.host.reportError(error);
      return error;
    }
    return protocol;
  }

  private open(ws: EndpointSocket, socket: Duplex, facts: ConnectionFacts, slot: Release): void {
    const conn = new WebSocketConnection<T>(ws, socket, facts, this.context, slot);
    this.live.add(conn);
    // Plain connections are Members: rooms, roomcasts and broadcasts reach them.
    this.host.rooms.adapter.addMember(conn);
    this.context.debug(conn, 'websocket connection open', { protocol: conn.protocol });
    // The handler runs after the open completes; a throw or a rejection is the server's error.
    queueMicrotask(() => this.run(conn));
  }

  private run(conn: WebSocketConnection<T>): void {
    try {
      const result: unknown = this.handler(conn);
      if (isPromiseLike(result)) result.then(undefined, this.reportError);
    } catch (error) {
      this.reportError(error);
    }
  }

  /** @internal (EndedListener) a connection has ended: it leaves the endpoint and its rooms */
  ended(conn: WebSocketConnection<T>): void {
    this.live.delete(conn);
    this.host.rooms.adapter.removeMember(conn.id);
  }

  private chosenProtocol(req: IncomingMessage): string | false {
    const protocol = this.protocols.get(req) ?? '';
    // false: no Sec-WebSocket-Protocol header (ws would otherwise echo the first offer).
    return protocol === '' ? false : protocol;
  }
}

/** What a connection keeps of its handshake: strings, not the request and its URLs. */
function factsOf(pending: PendingConnection, forwardedAddress: string | null): ConnectionFacts {
  return { resource: pending.resource.href, origin: pending.origin?.href ?? null, forwardedAddress };
}

/** `isSecure`: TLS here, or at a trusted proxy (`X-Forwarded-Proto`): the resource is `wss:` then. */
function pendingOf(req: IncomingMessage, clientAddress: string, isSecure: boolean): PendingConnection | RealtimeError {
  let resource: URL;
  try {
    resource = new URL(req.url ?? '/', `${isSecure ? 'wss' : 'ws'}://${req.headers.host ?? 'localhost'}`);
  } catch {
    return new RealtimeError('ERR_BAD_REQUEST', 'invalid Request-URI or Host');
  }
  let origin: URL | null = null;
  // `Origin: null` (sandboxed frames, file: pages) is an opaque origin, not a malformed one.
  if (req.headers.origin !== undefined && req.headers.origin !== 'null') {
    try {
      origin = new URL(req.headers.origin);
    } catch {
      return new RealtimeError('ERR_BAD_REQUEST', 'invalid Origin');
    }
  }
  // A trusted proxy's X-Forwarded-For names an address without its port.
  const remoteAddress =
    clientAddress === req.socket.remoteAddress
      ? formatRemoteAddress(req.socket.remoteAddress, req.socket.remotePort)
      : clientAddress;
  return { resource, origin, remoteAddress, request: req };
}
