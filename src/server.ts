/**
 * Composition root: one Switchyard instance owns one session registry, one websocket
 * server (no listener of its own) and the routes of the legacy resource. It runs
 * standalone (`createServer(...).listen()`) or inside an application's own fastify
 * instance (`app.register(switchyard, options)`).
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
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
import { FlashPolicyService } from './http/flash-policy.js';
import { fastifyHttpOptions, installJsonFallbacks, type HttpLimitOptions } from './http/limits.js';
import { answerClosed, mountResource, refuseWhenClosed, routeResourceFirst } from './http/mount.js';
import { parseOrigins } from './http/origins.js';
import { ConnectionBudget } from './http/budget.js';
import { UpgradeDispatcher, type UpgradeRoute } from './http/upgrades.js';
import { MemoryAdapter, type Adapter } from './hub/adapter.js';
import { HubApi } from './server/hub-api.js';
import type { DefaultEventsMap, EventsMap, MessageOf } from './hub/event-maps.js';
import { EventHub } from './hub/events.js';
import type { Host } from './hub/host.js';
import { combineInstruments, type Instruments } from './hub/instruments.js';
import type { DisconnectInfo } from './hub/results.js';
import { Rooms, type Socket } from './hub/rooms.js';
import { resolveOptions, type ResolvedOptions, type ServerOptions } from './options.js';
import { SacSockEndpoint } from './sacsock/endpoint.js';
import { redactSessionId } from './hub/ids.js';
import { logSessionClosed, logSessionOpened } from './server/lifecycle-log.js';
import { connectionQueues, Operations } from './server/operations.js';
import { ErrorReporter } from './server/errors.js';
import { makeHost } from './server/host.js';
import {
  onShutdownSignal,
  Shutdown,
  waitForConnectionsToEnd,
  type Drainable,
  type ShutdownPhase,
} from './server/shutdown.js';
import type { Conn, ConnHooks, ResumeInfo } from './session/conn.js';
import { ClusterSessions } from './session/cluster-sessions.js';
import type { ClaimedSession, SessionDescriptor } from './hub/session-store.js';
import type { PresenceEvent } from './hub/membership.js';
import { describeConn } from './server/queries.js';
import { LegacySocket } from './session/legacy-socket.js';
import { Registry } from './session/registry.js';
import {
  handleResourceRequest,
  makeResourceContext,
  resourceUpgradeRoute,
  type ResourceContext,
} from './transports/resource.js';
import { SessionWebSocket } from './transports/session-websocket.js';

export interface ServerEvents {
  connection: [conn: Conn];
  /**
   * A client came back to its session after its transport was lost (a dropped socket, a
   * failed poll, a dead node): same session id, what it missed delivered. Never a second
   * `connection`. Listeners on the session itself are where they were, unless it was adopted
   * from another node (`info.adopted`): then attach them again here.
   */
  resume: [conn: Conn, info: ResumeInfo];
  message: [conn: Conn, data: unknown];
  disconnect: [conn: Conn, info: DisconnectInfo];
  /** A handler threw or rejected, or a session reported a protocol error. */
  error: [error: Error, conn: Conn | undefined];
  /**
   * A member joined or left a room: once per cluster, on the node whose write made it news
   * (docs/cluster.md, "Rooms and presence across the cluster"); on one node, every join and leave.
   */
  presence: [event: PresenceEvent];
}

export type { BroadcastReport } from './server/hub-api.js';

export type { UpgradeRoute } from './http/upgrades.js';

type Logger = FastifyInstance['log'];

/**
 * One server. `ListenEvents` and `EmitEvents` are optional typed event maps (what clients
 * send, what the server sends; see `EventsMap`): types only, like socket.io 4's
 * `Server<ListenEvents, EmitEvents>`.
 */
export class Switchyard<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = DefaultEventsMap,
> extends HubApi<ServerEvents, ListenEvents, EmitEvents> {
  readonly options: ResolvedOptions;
  readonly registry: Registry;
  /** The one connection budget: 0.6 sessions, sac-sock sockets and plain connections alike. */
  readonly budget: ConnectionBudget;
  readonly adapter: Adapter;
  readonly roomApi: Rooms;
  readonly events: EventHub;
  /**
   * Where every family reports what happens to its connections (opened, closed, messages
   * in, out and lost, overflows, fan-out): nothing unless metrics or the dashboard listen.
   */
  readonly instruments: Instruments;
  /** The sac-sock endpoint, unless `sacSockPath: false`. */
  readonly sacSock: SacSockEndpoint | undefined;
  /** The fastify instance it is mounted on (its own when standalone). */
  app: FastifyInstance | undefined;
  /** What every family gets from this server (rooms, events, budget, errors). */
  private readonly host: Host;
  private readonly errors: ErrorReporter<Conn>;
  private readonly shutdown: Shutdown;
  private readonly wss: GenericWebSocketServer<typeof SessionWebSocket>;
  private readonly upgrades: UpgradeDispatcher;
  private readonly endpoints: Drainable[] = [];
  /** The application's plain endpoints (the dashboard ranks their queues). */
  private readonly appEndpoints: WebSocketEndpoint<unknown>[] = [];
  /** Metrics, health, the dashboard and the upgrade log. */
  private readonly operations: Operations;
  private readonly legacy: ResourceContext;
  /** In a cluster, this node's sessions in the shared store. */
  private readonly cluster: ClusterSessions | null;
  private readonly legacySockets = new WeakMap<Conn, LegacySocket>();
  private readonly flashPolicy: FlashPolicyService | undefined;
  private log: Logger | undefined;
  private ownsApp = false;
  private isMounted = false;

  constructor(options: ServerOptions = {}) {
    super({ captureRejections: true });
    this.options = resolveOptions(options);
    this.errors = new ErrorReporter(this, () => this.log);
    this.shutdown = new Shutdown(
      () => this.drainableParts(),
      this.options.drainTimeoutMs,
      () => this.leaveBroker(),
    );
    this.upgrades = new UpgradeDispatcher(
      () => this.shutdown.phase === 'closed',
      (req, outcome) => this.operations.onUpgradeOutcome(req, outcome),
    );
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.options.maxPayloadBytes,
      clientTracking: false,
      WebSocket: SessionWebSocket,
    });
    this.adapter = this.options.adapter ?? new MemoryAdapter();
    this.operations = this.makeOperations();
    const { counters } = this.operations;
    this.instruments = combineInstruments([this.options.instruments, counters].filter((i) => i !== undefined));
    // A broker adapter's failures (Redis gone) happen outside any call: report them as ours.
    this.adapter.setErrorReporter?.((error) => {
      this.operations.adapterErrors++;
      this.reportError(error);
    });
    this.roomApi = new Rooms(this.adapter, this.instruments);
    // Presence costs nothing until someone listens: the adapter is told on the first listener.
    const hookPresence = (event: string | symbol): void => {
      if (event !== 'presence') return;
      (this as EventEmitter).off('newListener', hookPresence);
      this.adapter.onPresence?.((change) => this.errors.dispatch(this, 'presence', [change]));
    };
    (this as EventEmitter).on('newListener', hookPresence);
    this.events = new EventHub((error, socket) =>
      this.reportError(error, socket instanceof LegacySocket ? socket.conn : undefined),
    );
    this.budget = new ConnectionBudget(this.options);
    this.registry = new Registry(this.options.session, this.budget, this.sessionHooks());
    this.host = makeHost({
      ...this.options,
      rooms: this.roomApi,
      events: this.events,
      instruments: this.instruments,
      budget: this.budget,
      ...this.hostCallbacks(),
    });
    const { registry, budget, wss, host } = this;
    this.cluster = this.joinCluster();
    const cluster = this.cluster === null ? null : { store: this.options.cluster!.store, sessions: this.cluster };
    const { codec } = this.options.session;
    const relayTimeoutMs = this.options.relayTimeoutMs;
    this.legacy = makeResourceContext({
      options: this.options,
      registry,
      budget,
      wss,
      host,
      codec,
      cluster,
      relayTimeoutMs,
    });
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

  // Listeners may return anything: a returned promise's rejection is an `error` event.

  onConnect(listener: (conn: Conn) => unknown): this {
    return this.on('connection', listener);
  }

  /** A 0.6 client's plain message, decoded (typed by `ListenEvents['message']` when the map has it). */
  onMessage(listener: (conn: Conn, data: MessageOf<ListenEvents>) => unknown): this {
    return this.on('message', listener as (conn: Conn, data: unknown) => unknown);
  }

  onDisconnect(listener: (conn: Conn, info: DisconnectInfo) => unknown): this {
    return this.on('disconnect', listener);
  }

  getConn(sessionId: string): Conn | undefined {
    return this.registry.get(sessionId);
  }

  /** Hears every presence change (`presence` event): a member's join of a room, its leave. */
  onPresence(listener: (event: PresenceEvent) => unknown): this {
    return this.on('presence', listener);
  }

  /**
   * A 0.6 session of any node, described (not a Conn: it may live elsewhere), or null when no
   * node has it. Bounded by redisCluster's `queryTimeoutMs` (`ERR_QUERY_TIMEOUT`).
   */
  fetchSession(sessionId: string): Promise<SessionDescriptor | null> {
    const conn = this.registry.get(sessionId);
    const nodeId = this.cluster?.nodeId ?? 'local';
    if (conn !== undefined) return Promise.resolve(describeConn(conn, nodeId, this.adapter.rooms(sessionId)));
    if (this.cluster === null) return Promise.resolve(null);
    return this.cluster.describe(sessionId);
  }

  /** Number of live sessions. */
  get connectionCount(): number {
    return this.registry.size;
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
    this.appEndpoints.push(endpoint as WebSocketEndpoint<unknown>);
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
    await (this.options.cluster?.ready() ?? this.adapter.ready?.());
    await mountResource(app, this.options.resource, (req, res) => this.handleResourceRequest(req, res));
    mountWebSocketRoutes(app, (path, options, handler) => this.websocket(path, options, handler));
    await this.operations.mount(app);
    this.upgrades.install(app.server);
    this.flashPolicy?.install(app.server);
    const removeSignalHandlers = this.options.handleSignals
      ? onShutdownSignal((signal) => {
          this.log?.info({ signal }, 'shutting down');
          void this.close()
            .then(() => (this.ownsApp ? undefined : app.close()))
            .catch((error: unknown) => this.reportError(error));
        })
      : () => undefined;
    // preClose, not onClose: the HTTP server's close() waits for every socket, upgraded
    // websockets included, so sessions must end before it, or app.close() never returns.
    app.addHook('preClose', async () => {
      removeSignalHandlers();
      this.operations.stop();
      // Mounted on an application's app: its close() ends us too. Polls can no longer
      // reach us then, so call server.close() first for a full drain.
      await this.shutdown.drain();
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

  /** Where shutdown stands: `serving`, `draining` (new sessions refused), `closed`. */
  get shutdownPhase(): ShutdownPhase {
    return this.shutdown.phase;
  }

  /**
   * Graceful shutdown: refuses new connections, tells every connection in its own
   * protocol, flushes what each queue accepted (answering held polls, waiting for the next
   * poll of a session with frames waiting), and waits for the clients to close, all within
   * `drainTimeoutMs`; then cuts what is left and, when standalone, answers every request 503
   * (`Connection: close`) for up to `closeGraceMs` before the HTTP server closes.
   */
  async close(): Promise<void> {
    await this.shutdown.drain();
    if (!this.ownsApp || this.app === undefined) return;
    if (this.app.server.listening) await waitForConnectionsToEnd(this.app.server, this.options.closeGraceMs);
    await this.app.close();
  }

  /** @internal used by createServer */
  adoptApp(app: FastifyInstance): void {
    this.ownsApp = true;
    this.app = app;
    refuseWhenClosed(app, () => this.shutdown.phase === 'closed');
    // After the one hook of our own: a hook the application adds turns the fast path off.
    const handle = (req: IncomingMessage, res: ServerResponse) => this.handleResourceRequest(req, res);
    routeResourceFirst(app, this.options.resource, handle, () => this.shutdown.phase === 'serving');
  }

  // ── Internals ─────────────────────────────────────────────────────────────────────────

  /** What a Host needs to call back into the server (the application's and the internal one). */
  private hostCallbacks() {
    return {
      log: () => this.log,
      isShuttingDown: () => this.shutdown.phase !== 'serving',
      reportError: (error: unknown) => this.reportError(error),
    };
  }

  private makeOperations(): Operations {
    return new Operations({
      options: this.options,
      adapter: this.adapter,
      cluster: this.options.cluster?.view,
      hostParts: this.hostCallbacks(),
      phase: () => this.shutdown.phase,
      httpServer: () => this.httpServer,
      clientAddress: (req) => this.host.clientAddress(req),
      queues: () => connectionQueues(this.registry, this.sacSock, this.appEndpoints),
      addEndpoint: (endpoint, route) => {
        this.endpoints.push(endpoint);
        this.addUpgradeRoute(route);
      },
    });
  }

  /** How the 0.6 family reports to the server: rooms first, then the application. */
  private sessionHooks(): Omit<ConnHooks, 'timers' | 'sharedDecoder'> {
    return {
      onOpen: (conn) => {
        logSessionOpened(this.log, conn);
        // In the room model (and its private room) before anyone hears of it.
        this.adapter.addMember(conn);
        this.errors.dispatch(this, 'connection', [conn], conn);
        // The Socket view of a 0.6 session is made only when something will use it: most
        // sessions never need one, and it costs memory per idle session.
        if (this.events.hasSocketListeners) this.events.connected(this.socketOf(conn));
      },
      onResume: (conn, info) => {
        this.log?.info(
          { sessionId: redactSessionId(conn.sessionId), transport: conn.transport, ...info },
          'session resumed',
        );
        this.errors.dispatch(this, 'resume', [conn, info], conn);
      },
      onMessage: (conn, data) => {
        if (this.events.isHandledEnvelope(data) && this.events.dispatchEnvelope(this.socketOf(conn), data)) return;
        this.errors.dispatch(this, 'message', [conn, data], conn);
        this.errors.dispatch(conn, 'message', [data], conn);
      },
      onClose: (conn, info) => {
        logSessionClosed(this.log, conn, info);
        // Taken over by another node: it lives on there, in its rooms.
        this.adapter.removeMember(conn.sessionId, info.reason === 'taken-over' ? 'moved' : 'ended');
        this.errors.dispatch(this, 'disconnect', [conn, info], conn);
        if (this.events.hasSocketListeners) this.events.disconnected(this.socketOf(conn), info);
      },
      onHandOff: (conn) => {
        this.log?.info({ sessionId: redactSessionId(conn.sessionId) }, 'session handed off');
        this.adapter.removeMember(conn.sessionId, 'moved');
      },
      onError: (conn, error) => this.reportError(error, conn),
      instruments: this.instruments,
    };
  }

  private handleResourceRequest(req: IncomingMessage, res: ServerResponse): void {
    if (this.shutdown.phase === 'closed') return answerClosed(req, res);
    handleResourceRequest(this.legacy, this.options.resource, req, res, (error) => this.reportError(error));
  }

  /** In a cluster: this node's sessions in the shared store, and how a taken-over one rejoins. */
  private joinCluster(): ClusterSessions | null {
    const backend = this.options.cluster;
    if (backend === undefined) return null;
    const hooks = {
      onAdopted: async (conn: Conn, claimed: ClaimedSession) => {
        if (this.adapter.adopt !== undefined) return this.adapter.adopt(conn, claimed);
        this.adapter.addMember(conn);
        for (const room of claimed.rooms) this.adapter.join(conn.sessionId, room);
      },
      reportError: (error: unknown) => this.reportError(error),
    };
    return new ClusterSessions(backend.store, this.registry, hooks);
  }

  /** What a shutdown tells, in order: sessions, sac-sock, plain endpoints, then upgraded sockets. */
  private drainableParts(): Drainable[] {
    // In a cluster, sessions move to the other nodes instead of ending.
    const cluster = this.cluster;
    const sessions: Drainable = cluster === null ? this.registry : { shutdown: () => cluster.handOffAll() };
    const parts: Drainable[] = [sessions];
    if (this.sacSock !== undefined) parts.push(this.sacSock);
    parts.push(...this.endpoints);
    // Every websocket has been sent its close; it is done when the client has answered it.
    parts.push(this.upgrades.drainable);
    return parts;
  }

  /** After every part: the broker goes last (sessions may still fan out while they close). */
  private async leaveBroker(): Promise<void> {
    this.cluster?.close();
    const backend = this.options.cluster;
    await (backend === undefined ? this.adapter.close() : backend.close());
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

  private reportError(error: unknown, conn?: Conn): void {
    this.errors.report(error, conn);
  }
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
export function createServer<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = DefaultEventsMap,
>(options: CreateServerOptions = {}): Switchyard<ListenEvents, EmitEvents> {
  const { logger = false, https, ...rest } = options;
  const { maxHeaderBytes, headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs, connectionTimeoutMs, ...own } = rest;
  const http = { maxHeaderBytes, headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs, connectionTimeoutMs };
  const server = new Switchyard<ListenEvents, EmitEvents>(own);
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
