/**
 * Composition root: one Switchyard instance owns one session registry, one websocket
 * server (no listener of its own) and the routes of the legacy resource. It runs
 * standalone (`createServer(...).listen()`) or inside an application's own fastify
 * instance (`app.register(switchyard, options)`).
 */
import { EventEmitter } from 'node:events';
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer, ServerOptions as HttpsServerOptions } from 'node:https';
import { Server as TlsServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import Fastify, {
  type FastifyHttpsOptions,
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyServerOptions,
} from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import { WebSocketServer, type Server as GenericWebSocketServer } from 'ws';
import { WebSocketEndpoint, type ConnectionHandler } from './endpoints/endpoint.js';
import { mountWebSocketRoutes } from './endpoints/fastify-route.js';
import type { WebSocketEndpointOptions } from './endpoints/options.js';
import { RealtimeError } from './errors.js';
import { FlashPolicyService } from './http/flash-policy.js';
import { fastifyHttpOptions, installJsonFallbacks, type HttpLimitOptions } from './http/limits.js';
import {
  handleResourceRequest,
  resourceOriginRule,
  resourceUpgradeRoute,
  type ResourceContext,
} from './transports/resource.js';
import { resolveOptions, type ResolvedOptions, type ServerOptions } from './options.js';
import { parseOrigins } from './http/origins.js';
import { redactLegacyUrl } from './http/router.js';
import { SacSockEndpoint } from './sacsock/endpoint.js';
import { MemoryAdapter, privateRoom, type Adapter, type FanOutReport } from './hub/adapter.js';
import type { Conn } from './session/conn.js';
import type { DisconnectInfo } from './hub/results.js';
import { EventHub, type EventHandler, type SocketDisconnectListener, type SocketListener } from './hub/events.js';
import { redactSessionId } from './hub/ids.js';
import { LegacySocket } from './session/legacy-socket.js';
import type { Member } from './hub/member.js';
import { Registry } from './session/registry.js';
import { Admission } from './http/admission.js';
import { ConnectionBudget } from './http/budget.js';
import type { Host } from './hub/host.js';
import { makeHost } from './server/host.js';
import { NO_INSTRUMENTS } from './hub/instruments.js';
import { memberIds, Rooms, type MemberRef, type Socket, type Target } from './hub/rooms.js';
import { UpgradeDispatcher, type UpgradeRoute } from './http/upgrades.js';
import { SessionWebSocket } from './transports/session-websocket.js';

export interface ServerEvents {
  connection: [conn: Conn];
  message: [conn: Conn, data: unknown];
  disconnect: [conn: Conn, info: DisconnectInfo];
  /** A handler threw or rejected, or a session reported a protocol error. */
  error: [error: Error, conn: Conn | undefined];
}

/** Tallies of one broadcast: recipients reached, and sends their queue policy refused. */
export type BroadcastReport = FanOutReport;

export type { UpgradeRoute } from './http/upgrades.js';

type Logger = FastifyInstance['log'];

export class Switchyard extends EventEmitter<ServerEvents> {
  readonly options: ResolvedOptions;
  readonly registry: Registry;
  /** The one connection budget: 0.6 sessions, sac-sock sockets and plain connections alike. */
  readonly budget: ConnectionBudget;
  /** What every family gets from this server (rooms, events, budget, errors). */
  private readonly host: Host;
  /** The fastify instance it is mounted on (its own when standalone). */
  app: FastifyInstance | undefined;
  private readonly wss: GenericWebSocketServer<typeof SessionWebSocket>;
  private readonly upgrades = new UpgradeDispatcher();
  private readonly endpoints: Array<{ shutdown(): void }> = [];
  private readonly legacy: ResourceContext;
  /** Room membership and fan-out of every connection, whatever its protocol. */
  readonly adapter: Adapter;
  /**
   * Membership over the adapter, for the socket classes of endpoints (their
   * `join`/`leave`/`rooms`/`inRoom` sugar); applications use `server.join(…)` and friends.
   */
  readonly roomApi: Rooms;
  /**
   * The event handlers and connect/disconnect listeners. Endpoints of other protocols call
   * `events.connected(socket)` after `addMember`, `events.dispatch(socket, event, bytes)`
   * for what arrives, and `events.disconnected(socket, info)` after `removeMember`.
   */
  readonly events: EventHub;
  private readonly legacySockets = new WeakMap<Conn, LegacySocket>();
  /** The sac-sock endpoint, unless `sacSockPath: false`. */
  readonly sacSock: SacSockEndpoint | undefined;
  private drained: Promise<void> | undefined;
  /** Sockets of the upgrades we answered, until they close: the drain waits for them, then cuts them. */
  private readonly flashPolicy: FlashPolicyService | undefined;
  private isShuttingDown = false;
  private log: Logger | undefined;
  private ownsApp = false;
  private isMounted = false;

  constructor(options: ServerOptions = {}) {
    super({ captureRejections: true });
    this.options = resolveOptions(options);
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.options.maxPayloadBytes,
      clientTracking: false,
      WebSocket: SessionWebSocket,
    });
    this.adapter = this.options.adapter ?? new MemoryAdapter();
    // A broker adapter's failures (Redis gone) happen outside any call: report them as ours.
    this.adapter.setErrorReporter?.((error) => this.reportError(error));
    this.roomApi = new Rooms(this.adapter);
    this.events = new EventHub((error, socket) =>
      this.reportError(error, socket instanceof LegacySocket ? socket.conn : undefined),
    );
    this.budget = new ConnectionBudget(this.options);
    this.registry = new Registry(this.options.session, this.budget, {
      onOpen: (conn) => {
        // In the room model (and its private room) before anyone hears of it.
        this.adapter.addMember(conn);
        this.dispatch(this, 'connection', [conn], conn);
        // The Socket view of a 0.6 session is made only when something will use it: most
        // sessions never need one, and it costs memory per idle session.
        if (this.events.hasSocketListeners) this.events.connected(this.socketOf(conn));
      },
      onMessage: (conn, data) => {
        if (this.events.isHandledEnvelope(data) && this.events.dispatchEnvelope(this.socketOf(conn), data)) return;
        this.dispatch(this, 'message', [conn, data], conn);
        this.dispatch(conn, 'message', [data], conn);
      },
      onClose: (conn, info) => {
        this.log?.debug({ sessionId: redactSessionId(conn.sessionId), ...info }, 'session closed');
        this.adapter.removeMember(conn.sessionId);
        this.dispatch(this, 'disconnect', [conn, info], conn);
        if (this.events.hasSocketListeners) this.events.disconnected(this.socketOf(conn), info);
      },
      onError: (conn, error) => this.reportError(error, conn),
    });
    this.host = makeHost({
      rooms: this.roomApi,
      events: this.events,
      instruments: NO_INSTRUMENTS,
      budget: this.budget,
      log: () => this.log,
      isShuttingDown: () => this.isShuttingDown,
      reportError: (error) => this.reportError(error),
      ...this.options,
    });
    const originRules = parseOrigins(this.options.origins);
    this.legacy = {
      options: this.options,
      originRules,
      hostsAreChecked: this.options.allowedHosts.length > 0,
      registry: this.registry,
      budget: this.budget,
      wss: this.wss,
      host: this.host,
      admission: new Admission(
        {
          origin: resourceOriginRule(originRules, this.options.allowedHosts.length > 0),
          authorize: this.options.authorize,
        },
        this.host,
      ),
    };
    // The 0.6 resource's upgrades first, then sac-sock, then plain endpoints as they mount.
    this.upgrades.add(resourceUpgradeRoute(this.legacy, this.options.resource, (error) => this.reportError(error)));
    this.sacSock = this.mountSacSock();
    if (this.options.transports.includes('flashsocket')) {
      this.flashPolicy = new FlashPolicyService(this.legacy.originRules, this.options.flashPolicyPort, () => this.log);
    }
    // Rejections of async listeners (captureRejections) end up here, not as crashes.
    Object.defineProperty(this, EventEmitter.captureRejectionSymbol, {
      value: (error: unknown, _event: unknown, ...args: unknown[]) => this.reportError(error, args.find(isConn)),
    });
  }

  // ── Application API ───────────────────────────────────────────────────────────────────

  onConnect(listener: (conn: Conn) => void): this {
    return this.on('connection', listener);
  }

  onMessage(listener: (conn: Conn, data: unknown) => void): this {
    return this.on('message', listener);
  }

  onDisconnect(listener: (conn: Conn, info: DisconnectInfo) => void): this {
    return this.on('disconnect', listener);
  }

  getConn(sessionId: string): Conn | undefined {
    return this.registry.get(sessionId);
  }

  /** Number of live sessions. */
  get connectionCount(): number {
    return this.registry.size;
  }

  /** Sends a plain message to every connection; it is encoded once per wire format. */
  broadcast(value: unknown): BroadcastReport {
    return this.roomApi.target().send(value);
  }

  /** Sends a plain message to every connection but the excluded ones (members or ids). */
  broadcastExcept(except: MemberRef | Iterable<MemberRef>, value: unknown): BroadcastReport {
    return this.roomApi.target(undefined, memberIds(except)).send(value);
  }

  // ── Rooms and events (every protocol) ─────────────────────────────────────────────────

  /** Sets the handler of an event (one per name; `data` is the raw payload bytes). */
  onEvent(event: string, handler: EventHandler): this {
    this.events.on(event, handler);
    return this;
  }

  offEvent(event: string): this {
    this.events.off(event);
    return this;
  }

  /** Hears of every new socket, whatever its protocol, once it is in its private room. */
  onSocketConnect(listener: SocketListener): this {
    this.events.onConnect(listener);
    return this;
  }

  /** Hears of every socket that ended, after it has left every room. */
  onSocketDisconnect(listener: SocketDisconnectListener): this {
    this.events.onDisconnect(listener);
    return this;
  }

  /** The `Socket` (rooms and events) of a 0.6 session. */
  socketOf(conn: Conn): Socket {
    let socket = this.legacySockets.get(conn);
    if (socket === undefined) {
      socket = new LegacySocket(conn, this.roomApi);
      this.legacySockets.set(conn, socket);
    }
    return socket;
  }

  /** Puts a connection of another kind (a plain websocket endpoint) in the room model. */
  addMember(member: Member): void {
    this.adapter.addMember(member);
  }

  /** Takes it out again: it leaves every room. */
  removeMember(member: MemberRef): void {
    this.adapter.removeMember(typeof member === 'string' ? member : member.id);
  }

  /** Adds a member to a room; false when the member is not (or no longer) connected. */
  join(member: MemberRef, room: string): boolean {
    return this.roomApi.join(member, room);
  }

  leave(member: MemberRef, room: string): boolean {
    return this.roomApi.leave(member, room);
  }

  rooms(member: MemberRef): string[] {
    return this.roomApi.rooms(member);
  }

  inRoom(member: MemberRef, room: string): boolean {
    return this.roomApi.inRoom(member, room);
  }

  /** The members of `room`: `to(room).emit(event, data)`, `.send(value)`, `.except(socket)`. */
  to(room: string): Target {
    return this.roomApi.target([room]);
  }

  /** Every member but these: `except(socket).emit(event, data)`. */
  except(refs: MemberRef | Iterable<MemberRef>): Target {
    return this.roomApi.target(undefined, memberIds(refs));
  }

  /** An event to every member of `room` (sacrificial-socket's `Roomcast`). */
  roomcast(room: string, event: string, data: unknown): BroadcastReport {
    return this.to(room).emit(event, data);
  }

  /** An event to one socket by id, through its private room (`Socketcast`). */
  socketcast(id: string, event: string, data: unknown): BroadcastReport {
    return this.to(privateRoom(id)).emit(event, data);
  }

  /** An event to every connection (`Broadcast`). */
  broadcastEvent(event: string, data: unknown): BroadcastReport {
    return this.roomApi.target().emit(event, data);
  }

  /** Adds an upgrade route (used by the sac-sock endpoint and plain websocket endpoints). */
  addUpgradeRoute(route: UpgradeRoute): void {
    this.upgrades.add(route);
  }

  /**
   * Mounts a plain RFC 6455 endpoint at `path` (exact pathname), on the same HTTP server as
   * the legacy resource. `handler` runs once per accepted connection.
   */
  websocket<T = unknown>(
    path: string,
    options: WebSocketEndpointOptions<T>,
    handler: ConnectionHandler<T>,
  ): WebSocketEndpoint<T> {
    const endpoint = new WebSocketEndpoint<T>(path, options, handler, this.host, this.options.authorize);
    this.endpoints.push(endpoint);
    this.addUpgradeRoute(endpoint);
    return endpoint;
  }

  // ── Lifecycle ─────────────────────────────────────────────────────────────────────────

  /** Mounts the routes and the upgrade handler on a fastify instance. */
  readonly plugin: FastifyPluginAsync = async (app) => {
    if (this.isMounted) throw new Error('a Switchyard instance mounts on one app only');
    this.isMounted = true;
    this.app ??= app;
    this.log = app.log;
    // Several instances: listen only once fan-out reaches the others (rejects when it cannot).
    await this.adapter.ready?.();
    const resource = this.options.resource;
    await app.register(async (scope) => {
      // The legacy routes read their bodies themselves, with a cap enforced while streaming.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
      scope.route({
        method: ['GET', 'HEAD', 'POST', 'OPTIONS', 'PUT', 'DELETE', 'PATCH'],
        url: `/${resource}/*`,
        exposeHeadRoute: false,
        // Request logs of this route carry the URL with the session id cut short: the full
        // id is a bearer credential and never goes into logs at info level.
        logSerializers: {
          req: (req: { method?: string; url?: string; ip?: string }) => ({
            method: req.method,
            url: redactLegacyUrl(resource, req.url ?? '/'),
            remoteAddress: req.ip,
          }),
        },
        handler: (request, reply) => {
          reply.hijack();
          handleResourceRequest(this.legacy, resource, request.raw, reply.raw, (error) => this.reportError(error));
        },
      });
    });
    mountWebSocketRoutes(app, (path, options, handler) => this.websocket(path, options, handler));
    this.upgrades.install(app.server);
    this.flashPolicy?.install(app.server);
    const removeSignalHandlers = this.options.handleSignals ? this.installSignalHandlers(app) : () => undefined;
    // preClose, not onClose: the HTTP server's close() waits for every socket, upgraded
    // websockets included, so sessions must end before it, or app.close() never returns.
    app.addHook('preClose', async () => {
      removeSignalHandlers();
      // Mounted on an application's app: its close() ends us too. Polls can no longer
      // reach us then, so call server.close() first for a full drain.
      await this.drain();
      await this.flashPolicy?.close();
      this.upgrades.uninstall();
    });
  };

  /** Standalone: listens on its own fastify instance. Returns the base URL. */
  async listen(options: { port?: number; host?: string } = {}): Promise<string> {
    const app = this.app;
    if (app === undefined || !this.ownsApp) throw new Error('listen() is for servers made by createServer()');
    await app.listen({ port: options.port ?? 8080, host: options.host ?? '127.0.0.1' });
    return this.url;
  }

  /** `http://host:port` (`https://` with TLS) of the listening server. */
  get url(): string {
    const address = this.httpServer?.address() as AddressInfo | null | undefined;
    if (address == null) throw new Error('the server is not listening');
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `${this.httpServer instanceof TlsServer ? 'https' : 'http'}://${host}:${address.port}`;
  }

  /** The port of the separate Flash policy listener while it listens (see `flashPolicyPort`). */
  get flashPolicyPort(): number | undefined {
    return this.flashPolicy?.listeningPort;
  }

  get httpServer(): HttpServer | undefined {
    return this.app?.server;
  }

  /**
   * Graceful shutdown: refuses new connections, tells every connection in its own
   * protocol, flushes what each queue accepted (answering held polls, waiting for the next
   * poll of a session with frames waiting), and waits for the clients to close, all within
   * `drainTimeoutMs`; then cuts what is left and, when standalone, closes the HTTP server.
   */
  async close(): Promise<void> {
    await this.drain();
    if (this.ownsApp && this.app !== undefined) await this.app.close();
  }

  /** @internal used by createServer */
  adoptApp(app: FastifyInstance): void {
    this.ownsApp = true;
    this.app = app;
  }

  // ── Internals ─────────────────────────────────────────────────────────────────────────

  private drain(): Promise<void> {
    this.drained ??= this.runDrain();
    return this.drained;
  }

  private async runDrain(): Promise<void> {
    this.isShuttingDown = true;
    const closed = [...this.registry.values()].map(
      (conn) =>
        new Promise<void>((resolve) =>
          conn.state === 'closed' ? resolve() : conn.once('disconnect', () => resolve()),
        ),
    );
    for (const conn of [...this.registry.values()]) conn.shutdown();
    if (this.sacSock !== undefined) closed.push(this.sacSock.shutdown());
    for (const endpoint of this.endpoints) endpoint.shutdown();
    // Every websocket has been sent its close; it is done when the client has answered it.
    closed.push(this.upgrades.allClosed());
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.options.drainTimeoutMs);
    });
    await Promise.race([Promise.all(closed), deadline]);
    clearTimeout(timer);
    // Past the deadline: what could not be delivered is reported lost (info.lostMessages).
    for (const conn of [...this.registry.values()]) conn.close('shutdown');
    this.sacSock?.terminate();
    this.upgrades.destroyAll();
    await this.adapter.close();
  }

  private installSignalHandlers(app: FastifyInstance): () => void {
    const onSignal = (signal: NodeJS.Signals): void => {
      this.log?.info({ signal }, 'shutting down');
      void this.close()
        .then(() => (this.ownsApp ? undefined : app.close()))
        .catch((error: unknown) => this.reportError(error));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    return () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    };
  }

  private mountSacSock(): SacSockEndpoint | undefined {
    const { sacSockPath, sacSockOrigins, sacSockMaxMessageBytes } = this.options;
    if (sacSockPath === false) return undefined;
    const endpoint = new SacSockEndpoint(
      {
        path: sacSockPath,
        maxMessageBytes: sacSockMaxMessageBytes,
        origins: sacSockOrigins === 'same-origin' ? 'same-origin' : parseOrigins(sacSockOrigins),
        limits: this.options,
        authorize: this.options.authorize,
      },
      this.host,
    );
    this.addUpgradeRoute(endpoint);
    return endpoint;
  }

  /**
   * Calls each listener of `event` on its own, the way `emit` would: a throw or a rejected
   * promise is reported with its session and never keeps the other listeners (another
   * handler, the session's own listeners) from running, nor reaches the transport.
   */
  private dispatch(target: object, event: string, args: unknown[], conn: Conn): void {
    const emitter = target as EventEmitter;
    for (const listener of emitter.rawListeners(event) as ((...values: unknown[]) => unknown)[]) {
      try {
        const result = listener.apply(emitter, args);
        if (isPromiseLike(result)) result.then(undefined, (error: unknown) => this.reportError(error, conn));
      } catch (error) {
        this.reportError(error, conn);
      }
    }
  }

  private reportError(error: unknown, conn?: Conn): void {
    const wrapped =
      error instanceof Error
        ? error
        : new RealtimeError('ERR_HANDLER_FAILED', `a handler failed: ${String(error)}`, { cause: error });
    const entry = { err: wrapped, sessionId: conn && redactSessionId(conn.sessionId) };
    // A client's bad input is the client's fault: at error level it would let anyone flood the log.
    if (wrapped instanceof RealtimeError && wrapped.httpStatus < 500) this.log?.debug(entry, 'client error');
    else if (wrapped instanceof RealtimeError && wrapped.code === 'ERR_DELIVERY_FAILED') this.log?.warn(entry, 'lost');
    else this.log?.error(entry, 'switchyard error');
    this.notifyErrorListeners(this, [wrapped, conn]);
    if (conn !== undefined) this.notifyErrorListeners(conn, [wrapped]);
  }

  /**
   * Server and session `error` listeners, each on its own. Their own failures (a throw, a
   * rejection) are only logged: reporting them as errors again could loop forever.
   */
  private notifyErrorListeners(target: object, args: unknown[]): void {
    const emitter = target as EventEmitter;
    const logFailure = (failure: unknown) => this.log?.warn({ err: failure }, 'an error listener failed');
    for (const listener of emitter.rawListeners('error') as ((...values: unknown[]) => unknown)[]) {
      try {
        const result = listener.apply(emitter, args);
        if (isPromiseLike(result)) result.then(undefined, logFailure);
      } catch (failure) {
        logFailure(failure);
      }
    }
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function isConn(value: unknown): value is Conn {
  return typeof value === 'object' && value !== null && 'sessionId' in value && 'deliver' in value;
}

export interface CreateServerOptions extends ServerOptions, HttpLimitOptions {
  /** fastify's logger option (pino). Default false. */
  logger?: FastifyServerOptions['logger'];
  /**
   * TLS (`{ key, cert }`, or any option of `https.createServer`), handed to fastify's own
   * `https` option: the server then speaks HTTPS and WSS only. Default none (plain HTTP).
   */
  https?: HttpsServerOptions;
}

/** A standalone server with its own fastify instance; call `listen()`. */
export function createServer(options: CreateServerOptions = {}): Switchyard {
  const { logger = false, https, ...rest } = options;
  const { maxHeaderBytes, headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs, connectionTimeoutMs, ...own } = rest;
  const http = { maxHeaderBytes, headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs, connectionTimeoutMs };
  const server = new Switchyard(own);
  const settings = { logger, ...(fastifyHttpOptions(http) as FastifyServerOptions & { http?: HttpsServerOptions }) };
  // fastify hands only `https` to https.createServer, not `http`: the limits go in with the
  // TLS options. An https.Server is an http.Server to everything mounted on it.
  const app =
    https === undefined
      ? Fastify(settings)
      : (Fastify({
          ...settings,
          https: { ...settings.http, ...https },
        } as FastifyHttpsOptions<HttpsServer>) as unknown as FastifyInstance);
  installJsonFallbacks(app);
  server.adoptApp(app);
  void app.register(server.plugin);
  return server;
}

declare module 'fastify' {
  interface FastifyInstance {
    switchyard: Switchyard;
  }
}

/** `app.register(switchyard, options)`: mounts a new instance, reachable as `app.switchyard`. */
export const switchyard = fastifyPlugin<ServerOptions>(
  async (app, options) => {
    const server = new Switchyard(options);
    app.decorate('switchyard', server);
    await server.plugin(app, {});
  },
  { name: 'switchyard', fastify: '5.x' },
);
