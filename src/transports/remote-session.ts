/**
 * The relay between nodes, edge side (the owner side is session/relay.ts). A request or
 * socket that arrives here for a session another node owns attaches to a `RemoteSession`
 * exactly as it would to a local Conn; the RemoteSession forwards every call to the owner
 * over the store's bus, and the owner's writes come back to the transport. When the owner
 * dies, the session is taken over (here or elsewhere) and the same transports carry on with
 * it: a held poll is answered, a websocket keeps going, a send is delivered.
 */
import { RealtimeError } from '../errors.js';
import type { Codec } from '../codecs/types.js';
import type { DisconnectReason } from '../hub/results.js';
import type { BusMessage, NodeBus } from '../hub/session-store.js';
import type { Conn } from '../session/conn.js';
import { fromWire, toWire } from '../session/relay.js';
import type { SessionPort, Transport } from '../session/transport.js';

/** How the request that made this stand-in introduced itself to the session. */
export interface Opening {
  /** The cookie's acknowledgement. */
  readonly ackedSeq?: number;
  /** A handshake that resumes the session (the session id comes again as the first frame). */
  readonly isResume?: boolean;
  /** A poll: without a cookie it acknowledges the whole previous answer. */
  readonly isPoll?: boolean;
}

/** An owner's answer to a probe. */
export interface ProbeVerdict {
  readonly resumable: boolean;
  readonly gone: boolean;
}

/** Where a session is now: this node (its Conn), another node, or nowhere. */
export type Located = Conn | string | null;

export class RemoteSession implements SessionPort {
  /** Set once the session has been taken over by this node: every call goes to it. */
  private local: Conn | null = null;
  readonly transports = new Set<Transport>();

  constructor(
    readonly sessionId: string,
    readonly codec: Codec,
    /** The node that owns the session. */
    public owner: string,
    private readonly relay: EdgeRelay,
    private opening: Opening,
  ) {}

  attach(transport: Transport): void {
    if (this.local !== null) return this.local.attach(transport);
    this.transports.add(transport);
    const { ackedSeq, isResume, isPoll } = this.opening;
    // Only the first attach introduces the request; a later one (after a failover) continues it.
    this.opening = { ackedSeq };
    this.relay.send(this.owner, {
      k: 'attach',
      s: this.sessionId,
      l: this.relay.linkOf(this, transport),
      t: transport.name,
      p: transport.persistent,
      ...(ackedSeq === undefined ? {} : { a: ackedSeq }),
      ...(isResume === true ? { r: true } : {}),
      ...(isPoll === true ? { poll: true } : {}),
    });
  }

  detach(transport: Transport, lost = transport.persistent): void {
    if (this.local !== null) return this.local.detach(transport, lost);
    if (!this.transports.delete(transport)) return;
    this.relay.send(this.owner, { k: 'detach', s: this.sessionId, l: this.relay.unlink(transport), lost });
  }

  receive(payload: string): RealtimeError | null | Promise<RealtimeError | null> {
    if (this.local !== null) return this.local.receive(payload);
    return this.relay.request(this, { k: 'recv', s: this.sessionId, d: payload });
  }

  settle(transport: Transport, delivered: boolean): void {
    if (this.local !== null) return this.local.settle(transport, delivered);
    this.relay.send(this.owner, {
      k: 'settle',
      s: this.sessionId,
      l: this.relay.linkOf(this, transport),
      ok: delivered,
    });
  }

  onDrain(transport: Transport): void {
    if (this.local !== null) return this.local.onDrain(transport);
    this.relay.send(this.owner, { k: 'drain', s: this.sessionId, l: this.relay.linkOf(this, transport) });
  }

  close(reason: DisconnectReason = 'server', error?: RealtimeError): void {
    if (this.local !== null) return this.local.close(reason, error);
    const err = toWire(error ?? new RealtimeError('ERR_HANDLER_FAILED', reason));
    for (const transport of this.transports) {
      this.relay.send(this.owner, { k: 'stop', s: this.sessionId, l: this.relay.linkOf(this, transport), err });
    }
  }

  /**
   * The owner died, and the session is now `where`: this node's Conn (the transports attach to
   * it, carrying on), another node (they attach there), or nowhere (they are closed).
   */
  moveTo(where: Located): void {
    const transports = [...this.transports];
    for (const transport of transports) this.relay.unlink(transport);
    this.transports.clear();
    if (where === null) {
      for (const transport of transports) transport.close(1011, 'session lost');
      return;
    }
    if (typeof where === 'string') {
      this.owner = where;
      for (const transport of transports) this.attach(transport);
      return;
    }
    this.local = where;
    if (this.opening.ackedSeq !== undefined) where.acknowledge(this.opening.ackedSeq);
    for (const transport of transports) where.attach(transport);
  }
}

/** Finds where a session is now, taking it over when its owner is dead. */
export type Locate = (sessionId: string) => Promise<Located>;

/**
 * The edge side of the relay for one server: the link id of every transport standing in for
 * a remote session, the owners' messages for them, and requests waiting for an answer.
 */
export class EdgeRelay {
  /** A transport keeps its link id for good: a poll's settlement comes after it detached. */
  private readonly linksByTransport = new WeakMap<Transport, string>();
  private readonly links = new Map<string, { session: RemoteSession; transport: Transport }>();
  private readonly pending = new Map<
    number,
    {
      session: RemoteSession;
      message: BusMessage;
      resolve: (error: RealtimeError | null) => void;
      timer: NodeJS.Timeout;
    }
  >();
  private readonly probes = new Map<number, (verdict: ProbeVerdict | null) => void>();
  private nextId = 1;

  constructor(
    private readonly bus: NodeBus,
    /** This node's id: where owners send their answers. */
    private readonly nodeId: string,
    private readonly locate: Locate,
    /** How long a relayed send may wait for its owner's answer. */
    private readonly timeoutMs: number,
  ) {}

  send(owner: string, message: BusMessage): void {
    this.bus.send(owner, { ...message, e: this.nodeId });
  }

  /** The link id of `transport`, listed for the owner's messages (again, after a failover). */
  linkOf(session: RemoteSession, transport: Transport): string {
    let link = this.linksByTransport.get(transport);
    if (link === undefined) {
      link = String(this.nextId++);
      this.linksByTransport.set(transport, link);
    }
    if (!this.links.has(link) && session.transports.has(transport)) this.links.set(link, { session, transport });
    return link;
  }

  /** The transport ended here: the owner's later writes to it are answered as not delivered. */
  unlink(transport: Transport): string {
    const link = this.linksByTransport.get(transport) ?? '';
    this.links.delete(link);
    return link;
  }

  /** A message that wants an answer (a send): resolves with the owner's verdict. */
  request(session: RemoteSession, message: BusMessage): Promise<RealtimeError | null> {
    return new Promise((resolve) => {
      const q = this.nextId++;
      const timer = setTimeout(
        () => this.answer(q, new RealtimeError('ERR_ADAPTER_UNAVAILABLE', 'the session’s node did not answer')),
        this.timeoutMs,
      );
      this.pending.set(q, { session, message: { ...message, q }, resolve, timer });
      this.send(session.owner, { ...message, q });
    });
  }

  /**
   * Asks `owner` whether a handshake may resume `sessionId` (its transport was lost); null
   * when the owner does not answer within `timeoutMs` (it may have died).
   */
  probe(owner: string, sessionId: string, timeoutMs: number): Promise<ProbeVerdict | null> {
    return new Promise((resolve) => {
      const q = this.nextId++;
      const timer = setTimeout(() => {
        this.probes.delete(q);
        resolve(null);
      }, timeoutMs);
      this.probes.set(q, (verdict) => {
        clearTimeout(timer);
        this.probes.delete(q);
        resolve(verdict);
      });
      this.send(owner, { k: 'probe', s: sessionId, q });
    });
  }

  /** One message from an owner. */
  handle(message: BusMessage): void {
    if (message.k === 'probed') {
      this.probes.get(Number(message.q))?.({ resumable: message.resumable === true, gone: message.gone === true });
      return;
    }
    if (message.k === 'recvd') {
      this.answer(Number(message.q), message.err === undefined ? null : fromWire(message.err));
      return;
    }
    const entry = this.links.get(String(message.l));
    if (entry === undefined) {
      // A write for a transport that ended here already: it was not delivered.
      if (message.k === 'write') this.send(String(message.o), { k: 'settle', l: message.l, ok: false });
      return;
    }
    const { session, transport } = entry;
    if (message.k === 'write') {
      const result = transport.write(String(message.d), undefined, Number(message.n) || 0);
      if (result === 'buffered') this.send(session.owner, { k: 'buffered', s: session.sessionId, l: message.l });
      // The transport was gone already: it never settles this write, so say it was not delivered.
      if (result === 'closed') this.send(session.owner, { k: 'settle', s: session.sessionId, l: message.l, ok: false });
    } else if (message.k === 'close') {
      transport.close(Number(message.c) || 1000, String(message.r ?? ''));
    } else if (message.k === 'refused') {
      const error = fromWire(message.err);
      transport.close(error.closeCode, error.code);
    }
  }

  /** A node died: every session it owned that has transports here moves to where it is now. */
  async nodeDown(nodeId: string): Promise<void> {
    const sessions = new Set<RemoteSession>();
    for (const { session } of this.links.values()) if (session.owner === nodeId) sessions.add(session);
    for (const pending of this.pending.values()) if (pending.session.owner === nodeId) sessions.add(pending.session);
    await Promise.all(
      [...sessions].map(async (session) => {
        const where = await this.locate(session.sessionId);
        session.moveTo(where);
        this.retry(session, where);
      }),
    );
  }

  /** Sends that were waiting on a dead owner go to where the session is now. */
  private retry(session: RemoteSession, where: Located): void {
    for (const [q, pending] of this.pending) {
      if (pending.session !== session) continue;
      if (where === null || typeof where !== 'string') {
        this.pending.delete(q);
        clearTimeout(pending.timer);
        const payload = String(pending.message.d);
        void Promise.resolve(
          where === null ? new RealtimeError('ERR_UNKNOWN_SESSION', 'the session is gone') : where.receive(payload),
        ).then(pending.resolve);
      } else {
        this.send(where, pending.message);
      }
    }
  }

  private answer(q: number, error: RealtimeError | null): void {
    const pending = this.pending.get(q);
    if (pending === undefined) return;
    this.pending.delete(q);
    clearTimeout(pending.timer);
    pending.resolve(error);
  }
}
