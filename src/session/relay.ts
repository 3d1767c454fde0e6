/**
 * The relay between nodes, owner side. A request for a session this node owns may arrive at
 * any node (the edge): the edge keeps the request or socket and stands in for the session
 * (transports/remote-session.ts); here, a `RemoteTransport` stands in for the edge's
 * transport, so the session's own machinery — queue, acknowledgements, heartbeats, window —
 * works unchanged. Messages go over the store's bus, in order per pair of nodes:
 *
 *   edge → owner  attach {s, l, e, t, p, a?, r?}   a transport of session s (link l at edge e)
 *                 detach {s, l, lost}   settle {s, l, ok}   drain {s, l}
 *                 recv {s, e, q, d}     a payload from the client (reply: recvd)
 *                 stop {s, l, why, err?} the session must end (a socket's protocol error)
 *                 probe {s, e, q}       may a handshake resume s? (reply: probed)
 *   owner → edge  write {l, d, n}       a payload for the transport (n: its last seq)
 *                 close {l, c, r}       end the transport    refused {l, err}
 *                 recvd {q, err?}       the outcome of a recv
 *                 probed {q, resumable, gone}
 */
import { RealtimeError, type ErrorCode } from '../errors.js';
import type { PreparedMessage } from '../hub/prepared.js';
import type { BusMessage, NodeBus } from '../hub/session-store.js';
import type { Conn } from './conn.js';
import { TRANSPORT_NAMES, type Transport, type TransportName, type WriteResult } from './transport.js';

/** An error as it crosses the bus. */
export interface WireError {
  readonly code: string;
  readonly message: string;
}

export function toWire(error: RealtimeError): WireError {
  return { code: error.code, message: error.message };
}

export function fromWire(error: unknown): RealtimeError {
  const wire = error as Partial<WireError> | undefined;
  return new RealtimeError((wire?.code ?? 'ERR_HANDLER_FAILED') as ErrorCode, String(wire?.message ?? 'relay error'));
}

/** The edge's transport, as the owning session sees it. */
export class RemoteTransport implements Transport {
  /** Every write is settled by the edge (its transport's own settlement). */
  readonly confirmsDelivery = true;
  /** The edge said its transport is backed up; it says so again when it drains. */
  isBackedUp = false;
  /** A poll takes one write: after it the session waits for the next request, as with a local poll. */
  isDone = false;

  constructor(
    readonly name: TransportName,
    readonly persistent: boolean,
    private readonly bus: NodeBus,
    /** The edge node, and the link id it gave the transport. */
    readonly edge: string,
    readonly link: string,
    private readonly conn: Conn,
    /** This (the owner's) node: an edge that no longer has the transport says so here. */
    private readonly owner: string,
  ) {}

  write(payload: string, _shared?: PreparedMessage, lastSeq = 0): WriteResult {
    if (this.isDone) return 'closed';
    this.bus.send(this.edge, { k: 'write', l: this.link, d: payload, n: lastSeq, o: this.owner });
    if (!this.persistent) {
      this.isDone = true;
      this.conn.detach(this, false);
    }
    return this.isBackedUp ? 'buffered' : 'written';
  }

  close(code = 1000, reason = ''): void {
    this.bus.send(this.edge, { k: 'close', l: this.link, c: code, r: reason });
  }
}

/** How the owner side finds sessions. */
export interface RelaySessions {
  get(sessionId: string): Conn | undefined;
}

/**
 * The owner side of the relay for one server: bus messages from edges become calls on this
 * node's sessions, with a RemoteTransport per edge transport (link).
 */
export class RelayOwner {
  private readonly links = new Map<string, { conn: Conn; transport: RemoteTransport }>();
  /**
   * Polls answered by this node whose edge has detached them, until the edge settles the
   * answer: delivered, or not (it had ended the poll before the answer arrived).
   */
  private readonly answered = new Map<string, { conn: Conn; transport: RemoteTransport }>();

  constructor(
    private readonly bus: NodeBus,
    private readonly sessions: RelaySessions,
    private readonly nodeId: string,
  ) {}

  /** An edge died: its transports are gone, and the sessions they carried lost them. */
  edgeDown(nodeId: string): void {
    for (const links of [this.links, this.answered]) {
      for (const [key, { conn, transport }] of links) {
        if (transport.edge !== nodeId) continue;
        links.delete(key);
        conn.settle(transport, false);
        conn.detach(transport, true);
      }
    }
  }

  /** One message from an edge; anything malformed is dropped (the edge times out). */
  handle(message: BusMessage): void {
    const kind = message.k;
    if (kind === 'attach') return this.attach(message);
    if (kind === 'recv') return this.receive(message);
    if (kind === 'probe') return this.probe(message);
    const key = `${String(message.e)}/${String(message.l)}`;
    const entry = this.links.get(key) ?? this.answered.get(key);
    if (entry === undefined) return;
    const { conn, transport } = entry;
    if (kind === 'settle') {
      this.answered.delete(key);
      conn.settle(transport, message.ok === true);
      return;
    }
    if (kind === 'detach') {
      this.links.delete(key);
      if (transport.isDone && !transport.persistent && message.lost !== true) this.answered.set(key, entry);
      // A transport lost at the edge drops whatever the owner writes to it from now on: writes
      // still unsettled never reached it (a poll answered normally settles after its detach).
      if (message.lost === true) conn.settle(transport, false);
      conn.detach(transport, message.lost === true);
    } else if (kind === 'buffered') {
      transport.isBackedUp = true;
    } else if (kind === 'drain') {
      transport.isBackedUp = false;
      conn.onDrain(transport);
    } else if (kind === 'stop') {
      conn.close('protocol-error', fromWire(message.err));
    }
  }

  private attach(message: BusMessage): void {
    const { s, l, e, t } = message;
    if (typeof s !== 'string' || typeof l !== 'string' || typeof e !== 'string') return;
    if (!(TRANSPORT_NAMES as readonly unknown[]).includes(t)) return;
    const conn = this.sessions.get(s);
    if (conn === undefined || conn.state === 'closed') {
      const error = new RealtimeError('ERR_UNKNOWN_SESSION', 'unknown or expired session; open a new one');
      this.bus.send(e, { k: 'refused', l, err: toWire(error) });
      return;
    }
    const transport = new RemoteTransport(t as TransportName, message.p === true, this.bus, e, l, conn, this.nodeId);
    this.links.set(`${e}/${l}`, { conn, transport });
    const acked = typeof message.a === 'number' ? message.a : undefined;
    if (message.r === true) conn.prepareResume(acked);
    else if (acked !== undefined) conn.acknowledge(acked);
    else if (message.poll === true) conn.acknowledge();
    conn.attach(transport);
  }

  /** Whether a session may be resumed by another handshake: its transport was lost, or it is gone. */
  private probe(message: BusMessage): void {
    const { s, e, q } = message;
    if (typeof s !== 'string' || typeof e !== 'string') return;
    const conn = this.sessions.get(s);
    this.bus.send(e, { k: 'probed', q, resumable: conn?.isResumable === true, gone: conn === undefined });
  }

  private receive(message: BusMessage): void {
    const { s, e, q, d } = message;
    if (typeof s !== 'string' || typeof e !== 'string' || typeof d !== 'string') return;
    const conn = this.sessions.get(s);
    const error =
      conn === undefined
        ? new RealtimeError('ERR_UNKNOWN_SESSION', 'unknown or expired session; open a new one')
        : conn.receive(d);
    this.bus.send(e, error === null ? { k: 'recvd', q } : { k: 'recvd', q, err: toWire(error) });
  }
}
