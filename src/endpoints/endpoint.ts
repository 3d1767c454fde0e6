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
import type { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger as Logger } from 'fastify';
import { pino } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { RealtimeError } from '../errors.js';
import { Admission, type AuthorizeHook } from '../http/admission.js';
import { handOverErrors, rejectUpgrade } from '../http/upgrade.js';
import type { Host } from '../hub/host.js';
import { WebSocketConnection } from './connection.js';
import { resolveEndpointOptions, type ResolvedEndpointOptions, type WebSocketEndpointOptions } from './options.js';
import { formatRemoteAddress, type PendingConnection } from './pending.js';

/**
 * The application's code for one connection. It may return at once: the connection lives
 * until `done`. It may return anything; a returned promise's rejection is reported.
 */
export type ConnectionHandler<T> = (conn: WebSocketConnection<T>) => unknown;

const KEY_PATTERN = /^[+/0-9A-Za-z]{22}==$/;
const TOKEN_PATTERN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export class WebSocketEndpoint<T = unknown> {
  readonly options: ResolvedEndpointOptions<T>;
  private readonly wss: WebSocketServer;
  private readonly live = new Set<WebSocketConnection<T>>();
  /** The accept hook's choice per request, read back by ws's `handleProtocols` inside `handleUpgrade`. */
  private readonly protocols = new WeakMap<IncomingMessage, string>();
  private readonly silentLog = pino({ level: 'silent' });
  private readonly admission: Admission;

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
    const { originCheck } = this.options;
    this.admission = new Admission(
      { origin: (req) => originCheck(req.headers.origin, req.headers.host ?? ''), authorize },
      host,
    );
    this.wss = new WebSocketServer({
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
    const refusal = checkHandshake(req, this.host.isShuttingDown());
    if (refusal !== null) return rejectUpgrade(socket, refusal.error, refusal.headers);
    const pending = pendingOf(req, this.host.clientAddress(req));
    if (pending instanceof RealtimeError) return rejectUpgrade(socket, pending);
    const offered = offeredProtocols(req);
    if (offered instanceof RealtimeError) return rejectUpgrade(socket, offered);
    // Shutdown was checked with the handshake: a new connection is all this can be.
    const admission = await this.admission.check(req, false);
    if (admission !== null) return rejectUpgrade(socket, admission);
    const verdict = await this.runAcceptHook(pending, offered);
    if (verdict instanceof RealtimeError) return rejectUpgrade(socket, verdict);
    this.protocols.set(req, verdict);
    const slot = this.admission.reserve(req);
    if (slot instanceof RealtimeError) return rejectUpgrade(socket, slot);
    // 'close' fires once (and the release is idempotent): `on` spares a `once` wrapper per socket.
    socket.on('close', slot);
    if (socket.destroyed) return slot();
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      handOverErrors(socket);
      this.open(ws, socket, pending);
    });
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

  private open(ws: WebSocket, socket: Duplex, pending: PendingConnection): void {
    const log = this.logFor(pending);
    const conn = new WebSocketConnection<T>(ws, socket, pending, this.options, log);
    this.live.add(conn);
    // Plain connections are Members: rooms, roomcasts and broadcasts reach them.
    this.host.rooms.adapter.addMember(conn);
    void conn.done.then(() => {
      this.live.delete(conn);
      this.host.rooms.adapter.removeMember(conn.id);
    });
    log.debug({ protocol: conn.protocol }, 'websocket connection open');
    Promise.resolve()
      .then(() => this.handler(conn))
      .catch((error: unknown) => this.host.reportError(error));
  }

  private chosenProtocol(req: IncomingMessage): string | false {
    const protocol = this.protocols.get(req) ?? '';
    // false: no Sec-WebSocket-Protocol header (ws would otherwise echo the first offer).
    return protocol === '' ? false : protocol;
  }

  private logFor(pending: PendingConnection): Logger {
    const parent = this.host.log() ?? this.silentLog;
    const bindings = { endpoint: this.path, remoteAddress: pending.remoteAddress };
    return this.options.logLevel === undefined
      ? parent.child(bindings)
      : parent.child(bindings, { level: this.options.logLevel });
  }
}

function checkHandshake(
  req: IncomingMessage,
  isShuttingDown: boolean,
): { error: RealtimeError; headers?: Record<string, string> } | null {
  if (req.method !== 'GET') {
    return {
      error: new RealtimeError('ERR_METHOD_NOT_ALLOWED', 'only GET can open a websocket'),
      headers: { Allow: 'GET' },
    };
  }
  if (isShuttingDown) return { error: new RealtimeError('ERR_SHUTTING_DOWN', 'the server is shutting down') };
  if ((req.headers.upgrade ?? '').trim().toLowerCase() !== 'websocket') {
    return { error: new RealtimeError('ERR_BAD_REQUEST', 'missing upgrade header (Upgrade: websocket)') };
  }
  if (!hasToken(req.headers.connection, 'upgrade')) {
    return { error: new RealtimeError('ERR_BAD_REQUEST', 'missing connection header (Connection: Upgrade)') };
  }
  if (req.headers['sec-websocket-version'] !== '13') {
    return {
      error: new RealtimeError('ERR_UNSUPPORTED_VERSION', 'unknown version: only 13 is supported'),
      headers: { 'Sec-WebSocket-Version': '13' },
    };
  }
  if (!KEY_PATTERN.test(req.headers['sec-websocket-key'] ?? '')) {
    return { error: new RealtimeError('ERR_BAD_REQUEST', 'missing or malformed Sec-WebSocket-Key') };
  }
  return null;
}

function hasToken(header: string | undefined, token: string): boolean {
  return (header ?? '').split(',').some((part) => part.trim().toLowerCase() === token);
}

/** seehuhn's parsing: every header value joined, split on commas, trimmed, empties removed; tokens only. */
function offeredProtocols(req: IncomingMessage): string[] | RealtimeError {
  const raw = req.headers['sec-websocket-protocol'];
  if (raw === undefined) return [];
  const offered = raw
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  if (offered.some((name) => !TOKEN_PATTERN.test(name)) || new Set(offered).size !== offered.length) {
    return new RealtimeError('ERR_BAD_REQUEST', 'malformed Sec-WebSocket-Protocol header');
  }
  return offered;
}

function pendingOf(req: IncomingMessage, clientAddress: string): PendingConnection | RealtimeError {
  const isTls = (req.socket as Partial<TLSSocket>).encrypted === true;
  let resource: URL;
  try {
    resource = new URL(req.url ?? '/', `${isTls ? 'wss' : 'ws'}://${req.headers.host ?? 'localhost'}`);
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
