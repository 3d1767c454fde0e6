/**
 * The session-store seam: where the 0.6 sessions of several nodes meet, so that any node can
 * serve any request of any session and a session outlives its node. The 0.6 family writes
 * through it (a record per session, its unacknowledged frames, its rooms and data) and asks
 * it who owns a session; nodes reach each other over its bus. Without one (the default)
 * sessions live in this process alone and nothing here costs anything. The Redis
 * implementation is in `adapters/redis/`; nothing here knows Redis or any family.
 *
 * Ownership: each session has one owner node at a time, the one holding its live state
 * (timers, listeners, the queue in memory). A node whose liveness lapses is dead; another
 * node then claims its sessions (one claim wins) and restores them from their records.
 */

/** The format version of every record and envelope; a newer node reads an older one's. */
export const SESSION_FORMAT_VERSION = 1;

/** Frames with their sequence numbers, oldest first. */
export interface StoredFrames {
  readonly frames: readonly string[];
  readonly seqs: readonly number[];
}

/**
 * Where each origin node's fan-out log had got to, as far as a session has applied it:
 * node id → the last log entry id applied. A session taken over after its node died gets,
 * from each node's log, the fan-outs its old node had not yet applied.
 */
export type LogPositions = Readonly<Record<string, string>>;

/** The durable image of one 0.6 session. */
export interface SessionRecord {
  readonly sessionId: string;
  readonly owner: string;
  readonly transport: string;
  readonly remoteAddress: string;
  readonly origin?: string;
  readonly openedAt: number;
  /** The sequence number the next frame gets. */
  readonly nextSeq: number;
  /** Its transport was lost (see `Conn.isResumable`). */
  readonly isLost: boolean;
  /** Named rooms it is in (not its private room). */
  readonly rooms: readonly string[];
  /** The application's per-session state (`conn.data`), JSON; undefined when never set. */
  readonly data?: unknown;
  readonly logPositions: LogPositions;
}

/** A session taken over: its record, and every frame not known to have reached the client. */
export interface ClaimedSession extends SessionRecord {
  readonly frames: StoredFrames;
}

/** What any node can learn of a session it does not hold. */
export interface SessionLocation {
  /** The owning node; '' when its node let it go (a graceful shutdown): anyone may take it. */
  readonly owner: string;
  /** The owner's liveness has not lapsed. */
  readonly isOwnerAlive: boolean;
  readonly isLost: boolean;
  readonly openedAt: number;
}

/**
 * A 0.6 session as any node can describe it (`server.fetchSession(id)`): plain data, not a
 * Conn — the session lives on its own node.
 */
export interface SessionDescriptor {
  readonly id: string;
  /** The node that holds it now; '' while it is between nodes (let go at a shutdown). */
  readonly nodeId: string;
  /** Its transport now, or the last one it had. */
  readonly transport: string;
  /** Named rooms it is in (not its private room). */
  readonly rooms: readonly string[];
  /** `conn.data`; undefined when never set. */
  readonly data?: unknown;
  /** Its client is connected: not lost, and its node alive (false while it may come back). */
  readonly connected: boolean;
  readonly openedAt: number;
}

/** Fields of a record that change while the session lives. */
export type SessionChange = Partial<Pick<SessionRecord, 'isLost' | 'transport' | 'rooms' | 'data'>>;

/** Messages between nodes (the 0.6 family's relay). Plain JSON values. */
export type BusMessage = Readonly<Record<string, unknown>>;

export interface NodeBus {
  /** Sends `message` to node `nodeId`; in order per destination; never throws. */
  send(nodeId: string, message: BusMessage): void;
  /** Every message sent to this node. */
  onMessage(listener: (message: BusMessage) => void): void;
}

export interface SessionStore {
  /** This node's id: owner of the sessions it makes. */
  readonly nodeId: string;
  readonly bus: NodeBus;
  /** How long after a node dies every node knows it (its liveness lapses, the next look sees it). */
  readonly deathDetectionMs: number;

  /**
   * A session made or taken over here: its whole record. Resolves once any node can find it
   * (false when the store is down: the session then lives on this node alone).
   */
  save(record: SessionRecord): Promise<boolean>;
  /**
   * Frames accepted for a session (with the log positions they bring it to), and what the
   * client has (`through`, as `forget` would: one call for both). Resolves
   * 'durable' once the store has them; 'unavailable' when it is down (they go out all the
   * same, counted); 'not-owner' when another node has taken the session over.
   */
  append(sessionId: string, frames: StoredFrames, positions?: LogPositions, through?: number): Promise<AppendResult>;
  /** The client has every frame through `seq`; `dropped` frames were given up (`drop-oldest`). */
  forget(sessionId: string, through: number, dropped?: readonly number[]): void;
  /** Fields of a record changed. */
  update(sessionId: string, change: SessionChange): void;
  /** The session ended: everything of it goes. */
  remove(sessionId: string): void;
  /**
   * This node is shutting down and lets the session go: any node may take it over at once
   * (its record is kept, owned by no node), and its client resumes it there. Not taken within
   * `windowMs` (its reconnect window), it ends: its rooms are left.
   */
  release(sessionId: string, windowMs: number): void;
  /** What any node can tell of a session: a descriptor, or null when no node has it. */
  describe(sessionId: string): Promise<SessionDescriptor | null>;
  /** Keeps the records of these sessions (this node's) from expiring while they live. */
  touch(sessionIds: readonly string[]): void;
  /** How often `touch` must run for a live session's record never to expire. */
  readonly touchEveryMs: number;

  /** Where a session is, or null when no node has it; rejects (ERR_ADAPTER_UNAVAILABLE) when the store cannot say. */
  find(sessionId: string): Promise<SessionLocation | null>;
  /** Takes a session over from `fromNode` (dead); null when another node was first or it is gone. */
  claim(sessionId: string, fromNode: string): Promise<ClaimedSession | null>;
  /** Whether node `nodeId`'s liveness has not lapsed (as this node last saw it, or asked now). */
  isAlive(nodeId: string): Promise<boolean>;
  /** The sessions node `nodeId` owned. */
  ownedBy(nodeId: string): Promise<string[]>;
  /** Calls `listener` once for every node seen to die (its liveness lapsed). */
  onNodeDown(listener: (nodeId: string) => void): void;
  /**
   * Calls `listener` when the store lost what it held (it came back empty): every session
   * this node keeps in it is lost.
   */
  onStoreLost(listener: () => void): void;
}

/** The outcome of an append. */
export type AppendResult = 'durable' | 'unavailable' | 'not-owner';
