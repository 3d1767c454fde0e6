/**
 * Room membership of the whole cluster, in Redis, and presence (hub/membership.ts). Each node
 * writes the joins and leaves of its own members as they happen (told by its local
 * MemoryAdapter), so any node can answer for the cluster:
 *
 *   join  ──► syJoin <p>:r:{room} id      1: news → presence 'join' here     + ZADD <p>:rooms
 *   leave ──► syLeave <p>:r:{room} id     1|2: news → presence 'leave' here  (2: ZREM <p>:rooms)
 *   a member that is not a session ──► <p>:m:{id} {node, rooms} + SADD <p>:members:<node>
 *
 * Redis says whether a change is news, so each join and leave is reported once in the cluster,
 * on the node whose write made it. A 0.6 session's rooms are in its record and travel with it:
 * taken over by another node it joins again, which is no news (it never left); handed off at a
 * shutdown it stays; only its end leaves. Other members go with their node: when a node dies,
 * every live node leaves their rooms for them, and the first to do each leave reports it
 * (reason `node-down`). A session let go at a shutdown whose client never came back within its
 * window leaves its rooms the same way (reason `ended`).
 *
 * Every key has a TTL: rooms and members are refreshed by the nodes that have them, every
 * `touchEveryMs`; a room no node has seen for two rounds drops out of the room index.
 */
import { RealtimeError } from '../../errors.js';
import { privateRoom, PRIVATE_ROOM_PREFIX, type MemoryAdapter } from '../../hub/adapter.js';
import type { Member } from '../../hub/member.js';
import type {
  LeaveReason,
  MembershipObserver,
  MembershipQueries,
  PresenceEvent,
  RemovalReason,
} from '../../hub/membership.js';
import type { ClusterKeys } from './cluster-keys.js';
import type { ResolvedRedisClusterOptions } from './cluster-options.js';
import type { RedisLink } from './redis-link.js';

/** How often the released sessions are looked at (a window ends within this of its time). */
const SWEEP_EVERY_MS = 1_000;
/** Released sessions looked at per sweep, at most (the rest wait for the next one). */
const SWEEP_BATCH = 100;

export class ClusterMembership implements MembershipObserver, MembershipQueries {
  private readonly listeners: Array<(event: PresenceEvent) => void> = [];
  /** Members that are not sessions whose rooms changed this turn: written once, after it. */
  private readonly dirty = new Map<string, Member>();
  private timer: NodeJS.Timeout | undefined;
  private lastTouch = 0;

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

  /** Starts the rounds: rooms and members touched, released sessions whose window ended swept. */
  start(): void {
    this.timer = setInterval(() => void this.round(), Math.min(SWEEP_EVERY_MS, this.touchEveryMs));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  // ── Writes (MembershipObserver) ───────────────────────────────────────────────────────

  joined(member: Member, room: string): void {
    if (room.startsWith(PRIVATE_ROOM_PREFIX)) return;
    const redis = this.link.commands;
    redis.syJoin(this.keys.room(room), member.id, this.options.recordTtlMs).then(
      (added) => {
        if (added === 1) this.emit({ type: 'join', room, memberId: member.id, nodeId: this.options.nodeId, member });
      },
      (error: unknown) => this.link.failed('joining a room', error),
    );
    redis.zadd(this.keys.rooms, Date.now(), room).catch((error: unknown) => this.link.failed('indexing a room', error));
    this.changed(member);
  }

  left(member: Member, room: string, reason: 'left' | RemovalReason): void {
    // A session that moved to another node keeps its rooms there.
    if (reason === 'moved' || room.startsWith(PRIVATE_ROOM_PREFIX)) return;
    this.leave(member.id, room, reason, member);
    this.changed(member);
  }

  // ── Queries ───────────────────────────────────────────────────────────────────────────

  async roomsOf(id: string): Promise<string[]> {
    const here = this.local.rooms(id);
    if (here.size > 0) return [...here];
    const rooms = await this.remoteRooms(id);
    return rooms === null ? [] : [privateRoom(id), ...rooms];
  }

  async isInRoom(id: string, room: string): Promise<boolean> {
    // This node's own members: it writes their rooms, so its own view is the truth.
    const here = this.local.rooms(id);
    if (here.size > 0) return here.has(room);
    if (room === privateRoom(id)) return (await this.remoteRooms(id)) !== null;
    return (await this.ask(() => this.link.commands.sismember(this.keys.room(room), id))) === 1;
  }

  async membersOf(room: string): Promise<string[]> {
    if (room.startsWith(PRIVATE_ROOM_PREFIX)) return this.privateMembers(room);
    return this.ask(() => this.link.commands.smembers(this.keys.room(room)));
  }

  async countOf(room: string): Promise<number> {
    if (room.startsWith(PRIVATE_ROOM_PREFIX)) return (await this.privateMembers(room)).length;
    return this.ask(() => this.link.commands.scard(this.keys.room(room)));
  }

  async roomCount(): Promise<number> {
    const since = Date.now() - 2 * this.touchEveryMs;
    return this.ask(() => this.link.commands.zcount(this.keys.rooms, since, '+inf'));
  }

  // ── Members that go with their node ───────────────────────────────────────────────────

  /** A node died: every live node leaves the rooms of its members that were not sessions. */
  async nodeDown(nodeId: string): Promise<void> {
    const redis = this.link.commands;
    try {
      const ids = await redis.smembers(this.keys.nodeMembers(nodeId));
      await Promise.all(ids.map((id) => this.leaveAll(id, 'node-down', nodeId)));
      await redis.del(this.keys.nodeMembers(nodeId));
    } catch (error) {
      this.link.failed('leaving the rooms of a dead node', error);
    }
  }

  /** Redis came back empty: this node writes its members' rooms again. */
  restore(): void {
    for (const [member, rooms] of this.local.joinedMembers()) {
      for (const room of rooms) this.joined(member, room);
    }
  }

  // ── Internals ─────────────────────────────────────────────────────────────────────────

  private leave(id: string, room: string, reason: LeaveReason, member?: Member): void {
    this.link.commands.syLeave(this.keys.room(room), id).then(
      (result) => {
        if (result === 0) return;
        this.emit({ type: 'leave', reason, room, memberId: id, nodeId: this.options.nodeId, ...(member && { member }) });
        // The last one out: the room leaves the index (a join elsewhere meanwhile is put back by its node's next round).
        if (result === 2) void this.link.commands.zrem(this.keys.rooms, room).catch(() => undefined);
      },
      (error: unknown) => this.link.failed('leaving a room', error),
    );
  }

  /** Leaves every room member `id` (not a session) of dead node `nodeId` had. */
  private async leaveAll(id: string, reason: LeaveReason, nodeId: string): Promise<void> {
    const redis = this.link.commands;
    const [node, rooms] = await redis.hmget(this.keys.member(id), 'node', 'rooms');
    if (node !== nodeId) return;
    for (const room of parseRooms(rooms)) this.leave(id, room, reason);
    await redis.del(this.keys.member(id));
  }

  /** A member that is not a session changed rooms: its record is written after this turn. */
  private changed(member: Member): void {
    if (member.outlivesNode === true) return;
    if (this.dirty.size === 0) queueMicrotask(() => this.writeMembers());
    this.dirty.set(member.id, member);
  }

  private writeMembers(): void {
    const { nodeId, recordTtlMs } = this.options;
    const pipeline = this.link.commands.pipeline();
    for (const [id] of this.dirty) {
      const rooms = [...this.local.rooms(id)].filter((room) => !room.startsWith(PRIVATE_ROOM_PREFIX));
      if (rooms.length === 0) {
        pipeline.del(this.keys.member(id)).srem(this.keys.nodeMembers(nodeId), id);
        continue;
      }
      pipeline.hset(this.keys.member(id), 'node', nodeId, 'rooms', JSON.stringify(rooms));
      pipeline.pexpire(this.keys.member(id), recordTtlMs).sadd(this.keys.nodeMembers(nodeId), id);
    }
    this.dirty.clear();
    pipeline.pexpire(this.keys.nodeMembers(nodeId), recordTtlMs);
    pipeline.exec().catch((error: unknown) => this.link.failed('keeping members', error));
  }

  /** The named rooms of a member of another node: from its session record, or its member record. */
  private async remoteRooms(id: string): Promise<string[] | null> {
    const redis = this.link.commands;
    const [session, other] = await this.ask(() =>
      Promise.all([redis.hget(this.keys.record(id), 'rooms'), redis.hget(this.keys.member(id), 'rooms')]),
    );
    const json = session ?? other;
    return json === null ? null : parseRooms(json);
  }

  private async privateMembers(room: string): Promise<string[]> {
    const id = room.slice(PRIVATE_ROOM_PREFIX.length);
    return (await this.roomsOf(id)).length > 0 ? [id] : [];
  }

  /** A query: refused at once while Redis is down (no waiting in ioredis' offline queue). */
  private async ask<T>(query: () => Promise<T>): Promise<T> {
    if (!this.link.isUp) throw unavailable();
    try {
      return await query();
    } catch (cause) {
      throw new RealtimeError('ERR_ADAPTER_UNAVAILABLE', 'a cluster query failed', { cause });
    }
  }

  private emit(event: PresenceEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private async round(): Promise<void> {
    if (!this.link.isUp) return;
    try {
      if (Date.now() - this.lastTouch >= this.touchEveryMs) this.touch();
      await this.sweepReleased();
    } catch (error) {
      this.link.failed('the membership round', error);
    }
  }

  /** Keeps this node's rooms and members from expiring, and puts its rooms in the index. */
  private touch(): void {
    this.lastTouch = Date.now();
    const { nodeId, recordTtlMs } = this.options;
    const pipeline = this.link.commands.pipeline();
    for (const room of this.local.roomNames()) {
      pipeline.pexpire(this.keys.room(room), recordTtlMs).zadd(this.keys.rooms, this.lastTouch, room);
    }
    for (const [member] of this.local.joinedMembers()) {
      if (member.outlivesNode !== true) pipeline.pexpire(this.keys.member(member.id), recordTtlMs);
    }
    pipeline.pexpire(this.keys.nodeMembers(nodeId), recordTtlMs);
    pipeline.zremrangebyscore(this.keys.rooms, '-inf', this.lastTouch - 2 * this.touchEveryMs);
    pipeline.exec().catch((error: unknown) => this.link.failed('touching rooms', error));
  }

  /**
   * Sessions let go at a shutdown whose window has ended: taken by no node, they end — their
   * rooms are left (once: the first node's leave is the news) and their record goes.
   */
  private async sweepReleased(): Promise<void> {
    const redis = this.link.commands;
    const due = await redis.zrangebyscore(this.keys.released, '-inf', Date.now(), 'LIMIT', 0, SWEEP_BATCH);
    for (const sessionId of due) {
      if ((await redis.zrem(this.keys.released, sessionId)) === 0) continue; // another node has it
      const [owner, rooms] = await redis.hmget(this.keys.record(sessionId), 'owner', 'rooms');
      if (owner !== '' && owner !== null) continue; // resumed: it lives on
      for (const room of parseRooms(rooms)) this.leave(sessionId, room, 'ended');
      if (owner === '') await redis.syRemove(this.keys.record(sessionId), this.keys.frames(sessionId), '');
    }
  }
}

function unavailable(): RealtimeError {
  return new RealtimeError('ERR_ADAPTER_UNAVAILABLE', 'Redis is unreachable: the cluster cannot be asked now');
}

function parseRooms(json: string | null | undefined): string[] {
  if (json === null || json === undefined || json === '') return [];
  try {
    const rooms: unknown = JSON.parse(json);
    return Array.isArray(rooms) ? rooms.filter((room): room is string => typeof room === 'string') : [];
  } catch {
    // Only nodes write these fields, as JSON; anything else is treated as no rooms.
    return [];
  }
}
