import type { PayloadDecoder } from '../codecs/types.js';
import { RealtimeError } from '../errors.js';
import type { TransportName } from '../transports/types.js';
import { Conn, type ConnHooks, type DisconnectInfo, type SessionOptions } from './conn.js';
import { newSessionId } from './ids.js';
import { TimerLists } from './timer-lists.js';

export interface RegistryLimits {
  /** Most connections at once (sessions and other protocols' sockets); 0 = unlimited. */
  readonly maxConnections: number;
  /** Most connections per remote address; 0 = unlimited. */
  readonly maxConnectionsPerAddress: number;
}

/**
 * The sessions of one server instance, by session id. It creates sessions (ids from
 * nanoid) and forgets them when they close; nothing here is module-level, so two servers
 * in one process never see each other's sessions.
 */
export class Registry {
  private readonly conns = new Map<string, Conn>();
  /** Per remote address: sessions and reserved connections of other protocols. */
  private readonly perAddress = new Map<string, number>();
  /** Connections of other protocols counted by `reserve`. */
  private others = 0;
  private readonly hooks: ConnHooks;

  constructor(
    private readonly options: SessionOptions,
    private readonly limits: RegistryLimits,
    hooks: Omit<ConnHooks, 'timers' | 'sharedDecoder'>,
  ) {
    // Wrap onClose so the registry forgets a session before anyone else hears of it.
    this.hooks = {
      timers: new TimerLists<Conn>(),
      sharedDecoder: sharedDecoderOf(options),
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

  /** Every connection counted against the limits: 0.6 sessions and the other protocols' sockets. */
  get connectionTotal(): number {
    return this.conns.size + this.others;
  }

  /** A new session, or the error that refuses it (server full, too many from one address). */
  create(transport: TransportName, remoteAddress: string): Conn | RealtimeError {
    const refusal = this.checkLimits(remoteAddress);
    if (refusal !== null) return refusal;
    let sessionId = newSessionId();
    while (this.conns.has(sessionId)) sessionId = newSessionId();
    const conn = new Conn(sessionId, transport, remoteAddress, this.options, this.hooks);
    this.conns.set(sessionId, conn);
    this.countAddress(remoteAddress, 1);
    return conn;
  }

  /**
   * Counts a connection of another protocol (a sac-sock socket, a plain websocket) in the same
   * budget as sessions: one `maxConnections` and `maxConnectionsPerAddress` for everything a
   * client can hold open. Returns the release to call once (when it closes), or the refusal.
   */
  reserve(remoteAddress: string): RealtimeError | (() => void) {
    const refusal = this.checkLimits(remoteAddress);
    if (refusal !== null) return refusal;
    this.others++;
    this.countAddress(remoteAddress, 1);
    let isReleased = false;
    return () => {
      if (isReleased) return;
      isReleased = true;
      this.others--;
      this.countAddress(remoteAddress, -1);
    };
  }

  /** The refusal a new connection from `remoteAddress` would get now, or null (checks before a 101). */
  checkLimits(remoteAddress: string): RealtimeError | null {
    const { maxConnections, maxConnectionsPerAddress } = this.limits;
    if (maxConnections > 0 && this.connectionTotal >= maxConnections) {
      return new RealtimeError('ERR_SERVER_FULL', `the server holds its maximum of ${maxConnections} connections`);
    }
    const fromAddress = this.perAddress.get(remoteAddress) ?? 0;
    if (maxConnectionsPerAddress > 0 && fromAddress >= maxConnectionsPerAddress) {
      return new RealtimeError(
        'ERR_TOO_MANY_SESSIONS_FROM_ADDRESS',
        `this address holds its maximum of ${maxConnectionsPerAddress} connections`,
      );
    }
    return null;
  }

  private countAddress(remoteAddress: string, delta: 1 | -1): void {
    const count = (this.perAddress.get(remoteAddress) ?? 0) + delta;
    if (count > 0) this.perAddress.set(remoteAddress, count);
    else this.perAddress.delete(remoteAddress);
  }

  private forget(conn: Conn): void {
    if (this.conns.get(conn.sessionId) !== conn) return;
    this.conns.delete(conn.sessionId);
    this.countAddress(conn.remoteAddress, -1);
  }
}

/** One decoder for every session when the codec's keeps no state between payloads. */
function sharedDecoderOf(options: SessionOptions): PayloadDecoder | undefined {
  const decoder = options.codec.createDecoder(options);
  return decoder.isStateless === true ? decoder : undefined;
}
