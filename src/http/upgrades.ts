/**
 * Upgrade dispatch: the HTTP server's one 'upgrade' listener hands each request to the
 * first route that claims its path (the 0.6 resource first, then sac-sock and the plain
 * endpoints, in mounting order), tracks every socket it handed over so a shutdown can wait
 * for them, and refuses the rest as JSON 404 — unless the application listens for upgrades
 * of its own. Families register routes; nothing here knows them.
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { RealtimeError } from '../errors.js';
import { destroyOnError, rejectUpgrade } from './upgrade.js';

/** An upgrade route. `handle` owns the socket once `match` said yes; it never throws. */
export interface UpgradeRoute {
  match(pathname: string): boolean;
  handle(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** The server's own endpoint (the dashboard's): its upgrades are not reported. */
  readonly isInternal?: boolean;
}

/** How an upgrade a route took ended: its answer's status, and the error code of a refusal. */
export interface UpgradeOutcome {
  readonly pathname: string;
  readonly isAccepted: boolean;
  readonly status: number;
  readonly code: string | undefined;
}

export type UpgradeObserver = (req: IncomingMessage, outcome: UpgradeOutcome) => void;

export class UpgradeDispatcher {
  private readonly routes: UpgradeRoute[] = [];
  /** Every socket handed to a route, until it closes. */
  readonly sockets = new Set<Duplex>();
  private server: HttpServer | undefined;

  /**
   * `isClosed`: once true (the server has shut down), every upgrade is refused 503.
   * `observe`: told how each upgrade a route took was answered (101, or a refusal), for the
   * log and the counts; nothing is watched without it.
   */
  constructor(
    private readonly isClosed: () => boolean = () => false,
    private readonly observe?: UpgradeObserver,
  ) {}

  add(route: UpgradeRoute): void {
    this.routes.push(route);
  }

  /** Starts answering `server`'s upgrades. */
  install(server: HttpServer): void {
    this.server = server;
    server.on('upgrade', this.onUpgrade);
  }

  uninstall(): void {
    this.server?.off('upgrade', this.onUpgrade);
  }

  /** The drain's view: wait for every handed-over socket to close, then cut what is left. */
  readonly drainable = {
    shutdown: (): Promise<void> => this.allClosed(),
    terminate: (): void => this.destroyAll(),
  };

  /** Resolves once every tracked socket has closed. */
  allClosed(): Promise<void> {
    return Promise.all([...this.sockets].map((socket) => new Promise((resolve) => socket.once('close', resolve)))).then(
      () => undefined,
    );
  }

  /** Cuts every tracked socket (the drain deadline passed). */
  destroyAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', destroyOnError);
    if (this.isClosed()) {
      rejectUpgrade(socket, new RealtimeError('ERR_SHUTTING_DOWN', 'the server has shut down'));
      return;
    }
    const pathname = (req.url ?? '/').split('?', 1)[0] ?? '/';
    const route = this.routes.find((candidate) => candidate.match(pathname));
    if (route !== undefined) {
      this.sockets.add(socket);
      socket.on('close', this.untrack);
      if (this.observe !== undefined && route.isInternal !== true) watchAnswer(req, socket, pathname, this.observe);
      route.handle(req, socket, head);
      return;
    }
    // Leave the socket to the application when it listens for upgrades of its own.
    if ((this.server?.listenerCount('upgrade') ?? 0) > 1) return;
    rejectUpgrade(
      socket,
      new RealtimeError('ERR_BAD_REQUEST', 'no websocket endpoint at this path', { httpStatus: 404 }),
    );
  };

  /**
   * One listener for every tracked socket (`this` is the socket that closed): a closure or a
   * `once` wrapper per socket would be memory each idle websocket pays. 'close' fires once.
   */
  private readonly untrack = removerFrom(this.sockets);
}

/** A listener that removes the emitter it is called on (`this`) from `set`. */
function removerFrom<T>(set: Set<T>): (this: T) => void {
  return function remove(this: T): void {
    set.delete(this);
  };
}

/**
 * Reads the status line (and a refusal's JSON code) of the first bytes a route writes to an
 * upgrade socket — ws' 101, websocket-driver's 101, or `rejectUpgrade`'s JSON answer — then
 * puts the socket's own methods back: nothing of the watch stays on the socket past its
 * handshake, and no family has to report its upgrades itself.
 */
function watchAnswer(req: IncomingMessage, socket: Duplex, pathname: string, observe: UpgradeObserver): void {
  const { write, end } = socket;
  const restore = (): void => {
    // The socket's own methods back as own properties, never `delete`: a deleted property
    // turns the socket's object into a dictionary (some 1.6 KB more per idle websocket, and
    // slower property reads on every write for as long as the connection lives).
    socket.write = write;
    socket.end = end;
  };
  const seen = (chunk: unknown): void => {
    restore();
    const head =
      typeof chunk === 'string'
        ? chunk.slice(0, 2048)
        : Buffer.isBuffer(chunk)
          ? chunk.toString('latin1', 0, 2048)
          : '';
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
    const code = /"code":"(ERR_[A-Z0-9_]+)"/.exec(head)?.[1];
    observe(req, { pathname, isAccepted: status === 101, status, code });
  };
  socket.write = function (this: Duplex, chunk: unknown, ...rest: unknown[]) {
    seen(chunk);
    return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as Duplex['write'];
  socket.end = function (this: Duplex, chunk?: unknown, ...rest: unknown[]) {
    seen(chunk);
    return (end as (...args: unknown[]) => Duplex).call(this, chunk, ...rest);
  } as Duplex['end'];
}
