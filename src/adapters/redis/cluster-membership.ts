/**
 * Room membership of the whole cluster, in Redis, and presence (hub/membership.ts). Each node
 * writes the joins and leaves of its own members as they happen (told by its local
 * MemoryAdapter), so any node can answer for the cluster (cluster-queries.ts):
 *
 *   join  ──► syJoin <p>:r:{room} id   1|2: news → presence 'join' here   (2: ZADD <p>:rooms)
 *   leave ──► syLeave <p>:r:{room} id  1|2: news → presence 'leave' here  (2: ZREM <p>:rooms)
 *   a member that is not a session ──► HSET <p>:m:{id} {node, rooms} + SADD <p>:members:<node>
 *
 * Every command touches one key (one hash slot). Redis says whether a change is news, so each
 * join and leave is reported once in the cluster, on the node whose write made it. A 0.6
 * session's rooms are in its record and travel with it: taken over by another node it joins
 * them again there, which is no news (it never left); handed off at a shutdown it stays; only
 * its end leaves. Other members go with their node: when a node dies, every live node leaves
 * their rooms for them, and the first to do each leave reports it (reason `node-down`). A
 * session let go at a shutdown whose client never came back within its window leaves its
 * rooms the same way (reason `ended`).
 *
 * Every key has a TTL: the nodes refresh the rooms and members they have every `touchEveryMs`
 * and write their own members into their rooms again (a write lost while Redis was away is
 * mended within one round); a leave that failed is tried again each round.
 */
import { PRIVATE_ROOM_PREFIX, type MemoryAdapter } from '../../hub/adapter.js';
import type { Member } from '../../hub/member.js';
import type { LeaveReason, MembershipObserver, PresenceEvent, RemovalReason } from '../../hub/membership.js';
import type { ClusterKeys } from './cluster-keys.js';
import type { ResolvedRedisClusterOptions } from './cluster-options.js';
import { parseRooms } from './cluster-queries.js';
import type { RedisLink } from './redis-link.js';

/** How often the released sessions are looked at (a window ends within this of its time). */
const SWEEP_EVERY_MS = 1_000;
/** Released sessions looked at per sweep, at most (the rest wait for the next one). */
const SWEEP_BATCH = 100;

interface PendingLeave {
  readonly id: string;
  readonly room: string;
  readonly reason: LeaveReason;
}

export class ClusterMembership implements MembershipObserver {
  private readonly listeners: Array<(event: PresenceEvent) => void> = [];
  /** Members that are not sessions whose rooms changed this turn: written once, after it. */
  private readonly dirty = new Map<string, Member>();
  /** Leaves Redis did not take (it was away): tried again every round, until a join undoes one. */
  private readonly pendingLeaves = new Map<string, PendingLeave>();
  private timer: NodeJS.Timeout | undefined;
  private lastTouch = 0;
  private isRoundRunning = false;

  constructor(
    private readonly link: RedisLink,
    private readonly keys: ClusterKeys,
    private readonly options: ResolvedRedisClusterOptions,
    private readonly local: MemoryAdapter,
  ) {}

  /** How often rooms and members are kept from expiring. */
  get touchEveryMs(): number {
    return Math.max(250, Math.floor(this.options.recordTtlMs / 3));
  }

  onPresence(listener: (event: PresenceEvent) => void): void {
    this.listeners.push(listener);
  }

  /** Leaves what an earlier process with this node id left behind, then starts the rounds. */
  async start(): Promise<void> {
    await this.nodeDown(this.options.nodeId);
    this.lastTouch = Date.now();
    this.timer = setInterval(() => void this.round(), Math.min(SWEEP_EVERY_MS, this.touchEveryMs));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  // ── Writes (MembershipObserver) ───────────────────────────────────────────────────────

  joined(member: Member, room: string): void {
    if (room.startsWith(PRIVATE_ROOM_PREFIX)) return;
    this.pendingLeaves.delete(pendingKey(member.id, room));
    this.write(member, room, true);
    this.changed(member);
  }

  left(member: Member, room: string, reason: 'left' | RemovalReason): void {
    // A session that moved to another node keeps its rooms there.
    if (reason === 'moved' || room.startsWith(PRIVATE_ROOM_PREFIX)) return;
    this.leave(member.id, room, reason, member);
    this.changed(member);
  }

  // ── Members that go with their node ───────────────────────────────────────────────────

  /** A node died: every live node leaves the rooms of its members that were not sessions. */
  async nodeDown(nodeId: string): Promise<void> {
    const redis = this.link.commands;
    try {
      const ids = await redis.smembers(this.keys.nodeMembers(nodeId));
      await Promise.all(ids.map((id) => this.leaveAll(id, nodeId)));
      await redis.del(this.keys.nodeMembers(nodeId));
    } catch (error) {
      this.link.failed('leaving the rooms of a dead node', error);
    }
  }

  /**
   * Redis came back empty: this node writes its members' rooms again, quietly (nobody joined).
   * Its 0.6 sessions are not among them: they end with the store (`store-lost`).
   */
  restore(): void {
    for (const [member, rooms] of this.local.joinedMembers()) {
      if (member.outlivesNode === true) continue;
      for (const room of rooms) this.write(member, room, false);
      this.changed(member);
    }
  }

  // ── Internals ─────────────────────────────────────────────────────────────────────────

  private write(member: Member, room: string, isNews: boolean): void {
    const redis = this.link.commands;
    redis.syJoin(this.keys.room(room), member.id, this.options.recordTtlMs).then(
      (added) => {
        // The first member of a room puts it in the index (after its SADD: see unindex).
        if (added === 2) void this.index(room);
        if (added > 0 && isNews) this.emit({ type: 'join', room, memberId: member.id, nodeId: this.nodeId, member });
      },
      (error: unknown) => this.link.failed('joining a room', error),
    );
  }

  private async index(room: string): Promise<void> {
    await this.link.commands
      .zadd(this.keys.rooms, Date.now(), room)
      .catch((error: unknown) => this.link.failed('indexing a room', error));
  }

  private leave(id: string, room: string, reason: LeaveReason, member?: Member): void {
    const redis = this.link.commands;
    redis.syLeave(this.keys.room(room), id).then(
      (result) => {
        if (result === 0) return;
        this.emit({ type: 'leave', reason, room, memberId: id, nodeId: this.nodeId, ...(member && { member }) });
        if (result === 2) void this.unindex(room);
      },
      (error: unknown) => {
        this.pendingLeaves.set(pendingKey(id, room), { id, room, reason });
        this.link.failed('leaving a room', error);
      },
    );
  }

  /**
   * The last one out: the room leaves the index. A join on another node meanwhile wrote its
   * member before its ZADD, so a member seen after the ZREM puts the room back.
   */
  private async unindex(room: string): Promise<void> {
    const redis = this.link.commands;
    try {
      await redis.zrem(this.keys.rooms, room);
      if ((await redis.scard(this.keys.room(room))) > 0) await this.index(room);
    } catch (error) {
      this.link.failed('indexing a room', error);
    }
  }

  /** Leaves every room member `id` (not a session) of dead node `nodeId` had. */
  private async leaveAll(id: string, nodeId: string): Promise<void> {
    const redis = this.link.commands;
    const [node, rooms] = await redis.hmget(this.keys.member(id), 'node', 'rooms');
    if (node !== nodeId) return;
    for (const room of parseRooms(rooms)) this.leave(id, room, 'node-down');
    await redis.del(this.keys.member(id));
  }

  /** A member that is not a session changed rooms: its record is written after this turn. */
  private changed(member: Member): void {
    if (member.outlivesNode === true) return;
    if (this.dirty.size === 0) queueMicrotask(() => this.writeMembers());
    this.dirty.set(member.id, member);
  }

  private writeMembers(): void {
    const redis = this.link.commands;
    const nodeMembers = this.keys.nodeMembers(this.nodeId);
    const writes: Array<Promise<unknown>> = [];
    for (const id of this.dirty.keys()) {
      const rooms = namedRooms(this.local.rooms(id));
      if (rooms.length === 0) {
        writes.push(redis.del(this.keys.member(id)), redis.srem(nodeMembers, id));
        continue;
      }
      const key = this.keys.member(id);
      writes.push(redis.hset(key, 'node', this.nodeId, 'rooms', JSON.stringify(rooms)));
      writes.push(redis.pexpire(key, this.options.recordTtlMs), redis.sadd(nodeMembers, id));
    }
    this.dirty.clear();
    writes.push(redis.pexpire(nodeMembers, this.options.recordTtlMs));
    Promise.all(writes).catch((error: unknown) => this.link.failed('keeping members', error));
  }

  private emit(event: PresenceEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private get nodeId(): string {
    return this.options.nodeId;
  }

  private async round(): Promise<void> {
    if (!this.link.isUp || this.isRoundRunning) return;
    this.isRoundRunning = true;
    try {
      for (const [key, leave] of this.pendingLeaves) {
        this.pendingLeaves.delete(key);
        this.leave(leave.id, leave.room, leave.reason);
      }
      if (Date.now() - this.lastTouch >= this.touchEveryMs) await this.touch();
      await this.sweepReleased();
    } catch (error) {
      this.link.failed('the membership round', error);
    } finally {
      this.isRoundRunning = false;
    }
  }

  /** Keeps this node's rooms and members from expiring, and writes its members into its rooms again. */
  private async touch(): Promise<void> {
    this.lastTouch = Date.now();
    const redis = this.link.commands;
    const ttlMs = this.options.recordTtlMs;
    const byRoom = new Map<string, string[]>();
    const writes: Array<Promise<unknown>> = [];
    for (const [member, rooms] of this.local.joinedMembers()) {
      for (const room of namedRooms(rooms)) byRoom.set(room, [...(byRoom.get(room) ?? []), member.id]);
      if (member.outlivesNode !== true) writes.push(redis.pexpire(this.keys.member(member.id), ttlMs));
    }
    for (const [room, ids] of byRoom) {
      writes.push(redis.sadd(this.keys.room(room), ...ids), redis.pexpire(this.keys.room(room), ttlMs));
      writes.push(redis.zadd(this.keys.rooms, this.lastTouch, room));
    }
    writes.push(redis.pexpire(this.keys.nodeMembers(this.nodeId), ttlMs));
    // A room no node has touched for two rounds has expired (every node that had it is gone).
    writes.push(redis.zremrangebyscore(this.keys.rooms, '-inf', this.lastTouch - 2 * this.touchEveryMs));
    await Promise.all(writes);
  }

  /**
   * Sessions let go at a shutdown whose window has ended: taken by no node, they end — their
   * rooms are left (once: the node whose ZREM took it does it) and their record goes.
   */
  private async sweepReleased(): Promise<void> {
    const redis = this.link.commands;
    const due = await redis.zrangebyscore(this.keys.released, '-inf', Date.now(), 'LIMIT', 0, SWEEP_BATCH);
    for (const sessionId of due) {
      if ((await redis.zrem(this.keys.released, sessionId)) === 0) continue; // another node has it
      const [owner, rooms] = await redis.hmget(this.keys.record(sessionId), 'owner', 'rooms');
      if (owner !== '') continue; // resumed on some node (it lives on), or gone already
      for (const room of parseRooms(rooms)) this.leave(sessionId, room, 'ended');
      await redis.syRemove(this.keys.record(sessionId), this.keys.frames(sessionId), '');
    }
  }
}

function pendingKey(id: string, room: string): string {
  return `${room}\u0000${id}`;
}

function namedRooms(rooms: Iterable<string>): string[] {
  return [...rooms].filter((room) => !room.startsWith(PRIVATE_ROOM_PREFIX));
}
