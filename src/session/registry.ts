import { RealtimeError } from '../errors.js';
import type { TransportName } from '../transports/types.js';
import { Conn, type ConnHooks, type DisconnectInfo, type SessionOptions } from './conn.js';
import { newSessionId } from './ids.js';

export interface RegistryLimits {
  /** Most sessions at once; 0 = unlimited. */
  readonly maxConnections: number;
  /** Most sessions per remote address; 0 = unlimited. */
  readonly maxConnectionsPerAddress: number;
}

/**
 * The sessions of one server instance, by session id. It creates sessions (ids from
 * nanoid) and forgets them when they close; nothing here is module-level, so two servers
 * in one process never see each other's sessions.
 */
export class Registry {
  private readonly conns = new Map<string, Conn>();
  private readonly perAddress = new Map<string, number>();
  private readonly hooks: ConnHooks;

  constructor(
    private readonly options: SessionOptions,
    private readonly limits: RegistryLimits,
    hooks: ConnHooks,
  ) {
    // Wrap onClose so the registry forgets a session before anyone else hears of it.
    this.hooks = {
      onOpen: (conn) => hooks.onOpen(conn),
      onMessage: (conn, data) => hooks.onMessage(conn, data),
      onError: (conn, error) => hooks.onError(conn, error),
      onClose: (conn: Conn, info: DisconnectInfo) => {
        this.forget(conn);
        hooks.onClose(conn, info);
      },
    };
  }

  get size(): number {
    return this.conns.size;
  }

  get(sessionId: string): Conn | undefined {
    return this.conns.get(sessionId);
  }

  values(): IterableIterator<Conn> {
    return this.conns.values();
  }

  /** A new session, or the error that refuses it (server full, too many from one address). */
  create(transport: TransportName, remoteAddress: string): Conn | RealtimeError {
    const { maxConnections, maxConnectionsPerAddress } = this.limits;
    if (maxConnections > 0 && this.conns.size >= maxConnections) {
      return new RealtimeError('ERR_SERVER_FULL', `the server holds its maximum of ${maxConnections} sessions`);
    }
    const fromAddress = this.perAddress.get(remoteAddress) ?? 0;
    if (maxConnectionsPerAddress > 0 && fromAddress >= maxConnectionsPerAddress) {
      return new RealtimeError(
        'ERR_TOO_MANY_SESSIONS_FROM_ADDRESS',
        `this address holds its maximum of ${maxConnectionsPerAddress} sessions`,
      );
    }
    let sessionId = newSessionId();
    while (this.conns.has(sessionId)) sessionId = newSessionId();
    const conn = new Conn(sessionId, transport, remoteAddress, this.options, this.hooks);
    this.conns.set(sessionId, conn);
    this.perAddress.set(remoteAddress, fromAddress + 1);
    return conn;
  }

  private forget(conn: Conn): void {
    if (this.conns.get(conn.sessionId) !== conn) return;
    this.conns.delete(conn.sessionId);
    const count = (this.perAddress.get(conn.remoteAddress) ?? 1) - 1;
    if (count > 0) this.perAddress.set(conn.remoteAddress, count);
    else this.perAddress.delete(conn.remoteAddress);
  }
}
