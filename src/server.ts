/**
 * Composition root: one Switchyard instance owns one session registry, one websocket
 * server (no listener of its own) and the routes of the legacy resource. It runs
 * standalone (`createServer(...).listen()`) or inside an application's own fastify
 * instance (`app.register(switchyard, options)`).
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyServerOptions } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import { WebSocketServer } from 'ws';
import { RealtimeError } from './errors.js';
import { handleLegacyHttp, handleLegacyUpgrade, type LegacyContext } from './legacy.js';
import { resolveOptions, type ResolvedOptions, type ServerOptions } from './options.js';
import { parseOrigins } from './origins.js';
import { routeLegacy } from './router.js';
import type { Conn, DisconnectInfo } from './session/conn.js';
import { redactSessionId } from './session/ids.js';
import { PreparedMessage } from './session/prepared.js';
import { Registry } from './session/registry.js';
import { rejectUpgrade } from './upgrade.js';

export interface ServerEvents {
  connection: [conn: Conn];
  message: [conn: Conn, data: unknown];
  disconnect: [conn: Conn, info: DisconnectInfo];
  /** A handler threw or rejected, or a session reported a protocol error. */
  error: [error: Error, conn: Conn | undefined];
}

/** Tallies of one broadcast: recipients reached, and sends their queue policy refused. */
export interface BroadcastReport {
  readonly delivered: number;
  readonly refused: number;
}

/**
 * An upgrade route besides the legacy resource (the sac-sock endpoint, plain websocket
 * endpoints). `handle` owns the socket once `match` said yes.
 */
export interface UpgradeRoute {
  match(pathname: string): boolean;
  handle(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

type Logger = FastifyInstance['log'];

export class Switchyard extends EventEmitter<ServerEvents> {
  readonly options: ResolvedOptions;
  readonly registry: Registry;
  /** The fastify instance it is mounted on (its own when standalone). */
  app: FastifyInstance | undefined;
  private readonly wss: WebSocketServer;
  private readonly upgradeRoutes: UpgradeRoute[] = [];
  private readonly legacy: LegacyContext;
  private isShuttingDown = false;
  private log: Logger | undefined;
  private ownsApp = false;
  private isMounted = false;

  constructor(options: ServerOptions = {}) {
    super({ captureRejections: true });
    this.options = resolveOptions(options);
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.options.maxPayloadBytes, clientTracking: false });
    this.registry = new Registry(this.options.session, this.options, {
      onOpen: (conn) => this.guard(conn, () => this.emit('connection', conn)),
      onMessage: (conn, data) =>
        this.guard(conn, () => {
          this.emit('message', conn, data);
          conn.emit('message', data);
        }),
      onClose: (conn, info) => {
        this.log?.debug({ sessionId: redactSessionId(conn.sessionId), ...info }, 'session closed');
        this.guard(conn, () => this.emit('disconnect', conn, info));
      },
      onError: (conn, error) => this.reportError(error, conn),
    });
    this.legacy = {
      options: this.options,
      originRules: parseOrigins(this.options.origins),
      registry: this.registry,
      wss: this.wss,
      isShuttingDown: () => this.isShuttingDown,
      onInternalError: (error, conn) => this.reportError(error, conn),
    };
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

  /** Sends to every session; the message is encoded once per codec. */
  broadcast(value: unknown): BroadcastReport {
    return this.fanOut(value, undefined);
  }

  /** Sends to every session but the excluded ones (sessions or session ids). */
  broadcastExcept(except: Conn | string | Iterable<Conn | string>, value: unknown): BroadcastReport {
    const excluded = new Set<string>();
    const list = typeof except === 'string' || isConn(except) ? [except] : except;
    for (const item of list) excluded.add(typeof item === 'string' ? item : item.sessionId);
    return this.fanOut(value, excluded);
  }

  /** Adds an upgrade route (used by the sac-sock endpoint and plain websocket endpoints). */
  addUpgradeRoute(route: UpgradeRoute): void {
    this.upgradeRoutes.push(route);
  }

  // ── Lifecycle ─────────────────────────────────────────────────────────────────────────

  /** Mounts the routes and the upgrade handler on a fastify instance. */
  readonly plugin: FastifyPluginAsync = async (app) => {
    if (this.isMounted) throw new Error('a Switchyard instance mounts on one app only');
    this.isMounted = true;
    this.app ??= app;
    this.log = app.log;
    const resource = this.options.resource;
    await app.register(async (scope) => {
      // The legacy routes read their bodies themselves, with a cap enforced while streaming.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
      scope.route({
        method: ['GET', 'HEAD', 'POST', 'OPTIONS', 'PUT', 'DELETE', 'PATCH'],
        url: `/${resource}/*`,
        exposeHeadRoute: false,
        handler: (request, reply) => {
          reply.hijack();
          const route = routeLegacy(resource, request.raw.url ?? '/');
          if (route === null) {
            reply.raw.writeHead(404).end();
            return;
          }
          handleLegacyHttp(this.legacy, route, request.raw, reply.raw).catch((error: unknown) => {
            this.reportError(error);
            if (!reply.raw.headersSent) reply.raw.writeHead(500).end();
            else reply.raw.destroy();
          });
        },
      });
    });
    app.server.on('upgrade', this.onUpgrade);
    app.addHook('onClose', async () => {
      app.server.off('upgrade', this.onUpgrade);
      this.shutdownSessions();
    });
  };

  /** Standalone: listens on its own fastify instance. Returns the base URL. */
  async listen(options: { port?: number; host?: string } = {}): Promise<string> {
    const app = this.app;
    if (app === undefined || !this.ownsApp) throw new Error('listen() is for servers made by createServer()');
    await app.listen({ port: options.port ?? 8080, host: options.host ?? '127.0.0.1' });
    return this.url;
  }

  /** `http://host:port` of the listening server. */
  get url(): string {
    const address = this.httpServer?.address() as AddressInfo | null | undefined;
    if (address == null) throw new Error('the server is not listening');
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }

  get httpServer(): HttpServer | undefined {
    return this.app?.server;
  }

  /** Ends every session and, when standalone, the HTTP server. */
  async close(): Promise<void> {
    this.shutdownSessions();
    if (this.ownsApp && this.app !== undefined) await this.app.close();
  }

  /** @internal used by createServer */
  adoptApp(app: FastifyInstance): void {
    this.ownsApp = true;
    this.app = app;
  }

  // ── Internals ─────────────────────────────────────────────────────────────────────────

  private shutdownSessions(): void {
    if (this.isShuttingDown) return;
    this.isShuttingDown = true;
    for (const conn of [...this.registry.values()]) conn.close('shutdown');
  }

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', destroySocket);
    const url = req.url ?? '/';
    const route = routeLegacy(this.options.resource, url);
    if (route !== null && route.kind === 'transport') {
      handleLegacyUpgrade(this.legacy, route, req, socket, head).catch((error: unknown) => {
        this.reportError(error);
        socket.destroy();
      });
      return;
    }
    const pathname = url.split('?', 1)[0] ?? '/';
    const extra = this.upgradeRoutes.find((candidate) => candidate.match(pathname));
    if (extra !== undefined) {
      extra.handle(req, socket, head);
      return;
    }
    // Leave the socket to the application when it listens for upgrades of its own.
    if ((this.httpServer?.listenerCount('upgrade') ?? 0) > 1) return;
    rejectUpgrade(
      socket,
      new RealtimeError('ERR_BAD_REQUEST', 'no websocket endpoint at this path', { httpStatus: 404 }),
    );
  };

  private fanOut(value: unknown, excluded: ReadonlySet<string> | undefined): BroadcastReport {
    const message = new PreparedMessage(value);
    let delivered = 0;
    let refused = 0;
    for (const conn of this.registry.values()) {
      if (excluded?.has(conn.sessionId) === true) continue;
      if (conn.deliver(message).ok) delivered++;
      else refused++;
    }
    return { delivered, refused };
  }

  /** Runs application code; a throw is reported, never propagated into the transport. */
  private guard(conn: Conn, run: () => void): void {
    try {
      run();
    } catch (error) {
      this.reportError(error, conn);
    }
  }

  private reportError(error: unknown, conn?: Conn): void {
    const wrapped =
      error instanceof Error
        ? error
        : new RealtimeError('ERR_HANDLER_FAILED', `a handler failed: ${String(error)}`, { cause: error });
    this.log?.error({ err: wrapped, sessionId: conn && redactSessionId(conn.sessionId) }, 'switchyard error');
    if (this.listenerCount('error') > 0) {
      try {
        this.emit('error', wrapped, conn);
      } catch {
        // An error listener that throws has nowhere else to go; it was logged above.
      }
    }
  }
}

/** Module-level 'error' listener of upgraded sockets: no closure per connection. */
function destroySocket(this: Duplex): void {
  this.destroy();
}

function isConn(value: unknown): value is Conn {
  return typeof value === 'object' && value !== null && 'sessionId' in value && 'deliver' in value;
}

export interface CreateServerOptions extends ServerOptions {
  /** fastify's logger option (pino). Default false. */
  logger?: FastifyServerOptions['logger'];
}

/** A standalone server with its own fastify instance; call `listen()`. */
export function createServer(options: CreateServerOptions = {}): Switchyard {
  const { logger = false, ...rest } = options;
  const server = new Switchyard(rest);
  const app = Fastify({ logger });
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
