import type { PayloadDecoder } from '../codecs/types.js';
import type { RealtimeError } from '../errors.js';
import type { ConnectionBudget } from '../http/budget.js';
import { TRANSPORT_NAMES, type TransportName } from './transport.js';
import type { ClaimedSession } from '../hub/session-store.js';
import { Conn, type ConnHooks, type SessionOptions } from './conn.js';
import type { DisconnectInfo } from '../hub/results.js';
import { newSessionId } from '../hub/ids.js';
import { TimerLists } from '../hub/timer-lists.js';

/**
 * The sessions of one server instance, by session id. It creates sessions (ids from
 * nanoid) and forgets them when they close; nothing here is module-level, so two servers
 * in one process never see each other's sessions.
 */
export class Registry {
  private readonly conns = new Map<string, Conn>();
  private readonly hooks: ConnHooks;

  constructor(
    private readonly options: SessionOptions,
    /** The server's one budget: sessions count in it beside every other family's connections. */
    private readonly budget: ConnectionBudget,
    hooks: Omit<ConnHooks, 'timers' | 'sharedDecoder'>,
  ) {
    // Wrap onClose so the registry forgets a session before anyone else hears of it.
    const { instruments } = hooks;
    this.hooks = {
      timers: new TimerLists<Conn>(),
      sharedDecoder: sharedDecoderOf(options),
      instruments,
      onOpen: (conn) => {
        instruments.opened('socketio06', conn.transport);
        hooks.onOpen(conn);
      },
      onResume: (conn, info) => hooks.onResume(conn, info),
      onMessage: (conn, data) => hooks.onMessage(conn, data),
      onError: (conn, error) => hooks.onError(conn, error),
      onHandOff: (conn: Conn) => {
        this.forget(conn);
        instruments.closed('socketio06', conn.transport, 'handed-off');
        hooks.onHandOff(conn);
      },
      onClose: (conn: Conn, info: DisconnectInfo) => {
        this.forget(conn);
        instruments.closed('socketio06', conn.transport, info.reason);
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

  keys(): IterableIterator<string> {
    return this.conns.keys();
  }

  /**
   * A session taken over from a node that died (`claimed` from the shared store): counted in
   * the budget whatever its limits (its client was admitted already), detached and lost until
   * its client comes back.
   */
  restore(claimed: ClaimedSession): Conn {
    const existing = this.conns.get(claimed.sessionId);
    if (existing !== undefined) return existing;
    this.budget.addExisting(claimed.remoteAddress);
    const transport = (TRANSPORT_NAMES as readonly string[]).includes(claimed.transport)
      ? (claimed.transport as TransportName)
      : 'xhr-polling';
    const conn = new Conn(
      claimed.sessionId,
      transport,
      claimed.remoteAddress,
      this.options,
      this.hooks,
      claimed.origin,
    );
    this.conns.set(conn.sessionId, conn);
    conn.adopt(claimed);
    return conn;
  }

  /**
   * Graceful shutdown of every session (`Conn.shutdown`): resolves once all have closed. A
   * detached session with frames waiting stays until its next poll takes them.
   */
  shutdown(): Promise<void> {
    const conns = [...this.conns.values()];
    const closed = conns.map(
      (conn) =>
        new Promise<void>((resolve) =>
          conn.state === 'closed' ? resolve() : conn.once('disconnect', () => resolve()),
        ),
    );
    for (const conn of conns) conn.shutdown();
    return Promise.all(closed).then(() => undefined);
  }

  /** Past the drain deadline: ends every session left, what it still held counted as lost. */
  terminate(): void {
    for (const conn of [...this.conns.values()]) conn.close('shutdown');
  }

  /** A new session, or the error that refuses it (server full, too many from one address). */
  create(transport: TransportName, remoteAddress: string, origin?: string, id?: string): Conn | RealtimeError {
    const refusal = this.budget.add(remoteAddress);
    if (refusal !== null) return refusal;
    const sessionId = id ?? this.newSessionId();
    const conn = new Conn(sessionId, transport, remoteAddress, this.options, this.hooks, origin);
    this.conns.set(sessionId, conn);
    return conn;
  }

  /** A fresh session id no live session has (to name a session before it is made). */
  newSessionId(): string {
    let sessionId = newSessionId();
    while (this.conns.has(sessionId)) sessionId = newSessionId();
    return sessionId;
  }

  private forget(conn: Conn): void {
    if (this.conns.get(conn.sessionId) !== conn) return;
    this.conns.delete(conn.sessionId);
    this.budget.remove(conn.remoteAddress);
  }
}

/** One decoder for every session when the codec's keeps no state between payloads. */
function sharedDecoderOf(options: SessionOptions): PayloadDecoder | undefined {
  const decoder = options.codec.createDecoder(options);
  return decoder.isStateless === true ? decoder : undefined;
}
