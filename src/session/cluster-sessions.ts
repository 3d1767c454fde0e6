/**
 * This node's 0.6 sessions in a cluster (a shared session store is configured): each session
 * made here is saved in the store before its client hears of it; a session any node asks for
 * is located (here, on a live node, or taken over from a dead one); the sessions of a node
 * that died are taken over — every live node tries, the store lets one claim win — and
 * restored with their queue, rooms and data; the records of live sessions are kept from
 * expiring. Nothing here runs without a store.
 */
import { RealtimeError } from '../errors.js';
import type {
  ClaimedSession,
  SessionDescriptor,
  SessionLocation,
  SessionRecord,
  SessionStore,
} from '../hub/session-store.js';
import type { Conn } from './conn.js';
import type { Registry } from './registry.js';

/** How the rest of the server takes part. */
export interface ClusterHooks {
  /**
   * A session taken over here: into the room model with its rooms, and given what its old
   * node never applied of the other nodes' fan-out.
   */
  onAdopted(conn: Conn, claimed: ClaimedSession): Promise<void>;
  reportError(error: unknown): void;
}

/** Where a session is: this node's Conn, the id of the live node that owns it, or nowhere. */
export type Location = Conn | string | null;

/** How long a lookup waits for a claim another part of this node is making (bounded retries). */
const CLAIM_RETRY_MS = 50;
const CLAIM_RETRIES = 40;

export class ClusterSessions {
  private readonly timer: NodeJS.Timeout;
  /** Sessions being taken over right now, so that two lookups never claim one twice. */
  private readonly claiming = new Map<string, Promise<Conn | null>>();
  /** Shutting down: this node takes nothing over any more. */
  private isLeaving = false;

  constructor(
    private readonly store: SessionStore,
    private readonly registry: Registry,
    private readonly hooks: ClusterHooks,
  ) {
    store.onNodeDown((nodeId) => void this.adoptAll(nodeId).catch((error: unknown) => hooks.reportError(error)));
    store.onStoreLost(() => this.storeLost());
    // Records expire a while after their last touch; every live session is touched well before.
    this.timer = setInterval(() => this.touchAll(), store.touchEveryMs);
    this.timer.unref();
  }

  get nodeId(): string {
    return this.store.nodeId;
  }

  /** How long after a node dies every node knows it. */
  get deathDetectionMs(): number {
    return this.store.deathDetectionMs;
  }

  /** A session made here: resolves once any node can find it (it lives here alone if the store is down). */
  async save(conn: Conn): Promise<void> {
    conn.useStore(this.store);
    const saved = await this.store.save(recordOf(conn, this.store.nodeId));
    if (!saved) this.hooks.reportError(storeDown('a new session is not shared'));
  }

  /** A session this node is taking over right now (claimed or claiming, not yet restored). */
  isArriving(sessionId: string): boolean {
    return this.claiming.has(sessionId);
  }

  /** A session this node does not hold, as the store describes it; rejects when the store cannot say. */
  async describe(sessionId: string): Promise<SessionDescriptor | null> {
    try {
      return await this.store.describe(sessionId);
    } catch (cause) {
      if (cause instanceof RealtimeError) throw cause; // ERR_QUERY_TIMEOUT, ERR_ADAPTER_UNAVAILABLE
      throw storeDown(`the session store cannot be reached (${String(cause)})`);
    }
  }

  /** What the store knows of a session this node does not hold. */
  find(sessionId: string): Promise<SessionLocation | null> {
    return this.store.find(sessionId);
  }

  /**
   * Waits for the cluster's verdict on `owner`, whose liveness has not lapsed but which did
   * not answer: the session's location once the owner is seen dead (or the session taken
   * over), 'alive' when it still is after the time it takes every node to see a death, null
   * when the session is gone.
   */
  async awaitDeath(sessionId: string, owner: string): Promise<SessionLocation | 'alive' | null> {
    const deadline = Date.now() + this.store.deathDetectionMs;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, CLAIM_RETRY_MS));
      const where = await this.store.find(sessionId);
      if (where === null || where.owner !== owner || !where.isOwnerAlive) return where;
    }
    return 'alive';
  }

  /**
   * Waits (at most the time it takes every node to see a death) for `nodeId` to be seen dead:
   * true once it is, false when it is still alive.
   */
  async awaitNodeDeath(nodeId: string): Promise<boolean> {
    const deadline = Date.now() + this.store.deathDetectionMs;
    while (Date.now() < deadline) {
      if (!(await this.store.isAlive(nodeId))) return true;
      await new Promise((resolve) => setTimeout(resolve, CLAIM_RETRY_MS));
    }
    return false;
  }

  /** Where `sessionId` is now; a session whose node died is taken over here. */
  async locate(sessionId: string): Promise<Location> {
    for (let attempt = 0; attempt < CLAIM_RETRIES; attempt++) {
      const local = this.registry.get(sessionId);
      if (local !== undefined) return local;
      const pending = this.claiming.get(sessionId);
      if (pending !== undefined) {
        // A claim of this node's own (its sweep after the owner's death) is in flight: its
        // session, unless another node won the claim — then the session is there: look again.
        const claimed = await pending;
        if (claimed !== null) return claimed;
        continue;
      }
      const where = await this.store.find(sessionId);
      if (where === null) return null;
      if (where.owner !== this.store.nodeId && where.isOwnerAlive) return where.owner;
      if (this.isLeaving) return null;
      if (where.owner !== this.store.nodeId) {
        const adopted = await this.adopt(sessionId, where.owner);
        if (adopted !== null) return adopted;
      }
      // Owned here but not yet restored (a claim in flight elsewhere on this node), or another
      // node won the claim a moment ago: look again shortly.
      await new Promise((resolve) => setTimeout(resolve, CLAIM_RETRY_MS));
    }
    return null;
  }

  /** Takes one session over from `fromNode`; null when another node was first. */
  adopt(sessionId: string, fromNode: string): Promise<Conn | null> {
    // Taken over here already (the sweep after the node's death was first).
    const local = this.registry.get(sessionId);
    if (local !== undefined) return Promise.resolve(local);
    let claim = this.claiming.get(sessionId);
    if (claim === undefined) {
      claim = this.claim(sessionId, fromNode).finally(() => this.claiming.delete(sessionId));
      this.claiming.set(sessionId, claim);
    }
    return claim;
  }

  /**
   * Graceful shutdown: every session is let go rather than ended (`Conn.handOff`): its
   * transport is closed, its record stays for another node to take over at once, and its
   * client, reconnecting as it does, resumes it there with nothing lost.
   */
  handOffAll(): void {
    this.isLeaving = true;
    for (const conn of [...this.registry.values()]) conn.handOff();
  }

  close(): void {
    clearInterval(this.timer);
  }

  private async claim(sessionId: string, fromNode: string): Promise<Conn | null> {
    if (this.isLeaving) return null;
    const claimed = await this.store.claim(sessionId, fromNode);
    if (claimed === null) return null;
    // The claim made this node the owner in the store; the session is restored from it.
    const conn = this.registry.restore(claimed);
    conn.useStore(this.store);
    await this.hooks.onAdopted(conn, claimed);
    return conn;
  }

  /** A node died: every session it owned is taken over by one of the live nodes. */
  private async adoptAll(nodeId: string): Promise<void> {
    const sessionIds = await this.store.ownedBy(nodeId);
    // Every live node goes through the list; starting at a random place spreads the claims.
    const start = Math.floor(Math.random() * Math.max(1, sessionIds.length));
    const ordered = [...sessionIds.slice(start), ...sessionIds.slice(0, start)];
    for (const sessionId of ordered) {
      if (this.registry.get(sessionId) === undefined) await this.adopt(sessionId, nodeId);
    }
  }

  /** The store came back empty: every session kept in it is lost. */
  private storeLost(): void {
    this.hooks.reportError(storeDown('the session store lost its data; cluster sessions end'));
    for (const conn of [...this.registry.values()]) conn.close('store-lost');
  }

  private touchAll(): void {
    if (this.registry.size > 0) this.store.touch([...this.registry.keys()]);
  }
}

function storeDown(message: string): RealtimeError {
  return new RealtimeError('ERR_ADAPTER_UNAVAILABLE', message);
}

/** The record of a session made here. */
function recordOf(conn: Conn, owner: string): SessionRecord {
  return {
    sessionId: conn.sessionId,
    owner,
    transport: conn.transport,
    remoteAddress: conn.remoteAddress,
    ...(conn.origin === undefined ? {} : { origin: conn.origin }),
    openedAt: conn.openedAt,
    nextSeq: 1,
    isLost: false,
    rooms: [],
    logPositions: {},
  };
}
