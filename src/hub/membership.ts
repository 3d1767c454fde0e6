/**
 * Membership beyond one node: the asynchronous questions an application asks of the whole
 * cluster (a member's rooms, whether it is in a room, a room's members and their count), and
 * presence — a member's join of a room and its leave, once per cluster. An adapter for several
 * nodes answers them from the shared store; any other answers from its own members, so that
 * application code is the same on one node and on many.
 *
 * Presence is per member id: a member's join of a room is news once (its first join anywhere;
 * a session taken over by another node joins nothing anew), its leave once (its last leave
 * everywhere: it left, it ended, or its node died).
 */
import type { Member } from './member.js';

/** What the local answers read (an Adapter's synchronous side; named so to keep imports one-way). */
export interface LocalMembership {
  rooms(id: string): ReadonlySet<string>;
  members(room: string): ReadonlySet<string>;
  roomNames?(): Iterable<string>;
}

/** Why a member left a room. */
export type LeaveReason =
  /** `leave(member, room)` */
  | 'left'
  /** the member ended (closed, disconnected, its session expired) */
  | 'ended'
  /** its node died and its members went with it (sac-sock sockets, plain connections) */
  | 'node-down';

/** One presence change: a member joined or left a room. */
export type PresenceEvent = {
  readonly room: string;
  /** The member's id (a 0.6 session's is its session id). */
  readonly memberId: string;
  /** The node that saw the change happen (in a cluster; the local node otherwise). */
  readonly nodeId: string;
  /** The member itself when it is (or was, for a leave) on this node. */
  readonly member?: Member;
} & ({ readonly type: 'join' } | { readonly type: 'leave'; readonly reason: LeaveReason });

/**
 * How a member leaves the room model: it `ended`, or it `moved` — a 0.6 session handed off
 * to, or taken over by, another node lives on there with its rooms.
 */
export type RemovalReason = 'ended' | 'moved';

/** Told of every change of a named room's local members (private rooms are never told). */
export interface MembershipObserver {
  joined(member: Member, room: string): void;
  left(member: Member, room: string, reason: 'left' | RemovalReason): void;
}

/** The cluster-wide questions (docs/cluster.md, "Rooms and presence across the cluster"). */
export interface MembershipQueries {
  /** The member's rooms (its private room included); empty when no node knows it. */
  roomsOf(id: string): Promise<string[]>;
  isInRoom(id: string, room: string): Promise<boolean>;
  /** The ids of a room's members on every node. */
  membersOf(room: string): Promise<string[]>;
  countOf(room: string): Promise<number>;
  /** Named rooms with at least one member anywhere. */
  roomCount(): Promise<number>;
}

/**
 * A short list of values per room, oldest first, shared by every node of a cluster (a chat's
 * history): entries are JSON texts; `append` keeps the newest `maxEntries`.
 */
export interface RoomLog {
  append(room: string, entry: string, maxEntries: number): Promise<void>;
  read(room: string): Promise<string[]>;
}

/** Rooms a node's own room log remembers at once; the longest unused is forgotten first. */
const MAX_LOCAL_LOG_ROOMS = 10_000;

/** The room log of one node (no cluster): in this process, bounded in rooms and entries. */
export class MemoryRoomLog implements RoomLog {
  private readonly logs = new Map<string, string[]>();

  async append(room: string, entry: string, maxEntries: number): Promise<void> {
    const log = this.logs.get(room) ?? [];
    // Re-inserted: the Map's order is the order of last use.
    this.logs.delete(room);
    this.logs.set(room, log);
    log.push(entry);
    if (log.length > maxEntries) log.splice(0, log.length - maxEntries);
    if (this.logs.size > MAX_LOCAL_LOG_ROOMS) this.logs.delete(this.logs.keys().next().value as string);
  }

  async read(room: string): Promise<string[]> {
    return [...(this.logs.get(room) ?? [])];
  }
}

/** The questions answered from the adapter's own (local) members: one node. */
export function localQueries(adapter: LocalMembership): MembershipQueries {
  return {
    roomsOf: async (id) => [...adapter.rooms(id)],
    isInRoom: async (id, room) => adapter.rooms(id).has(room),
    membersOf: async (room) => [...adapter.members(room)],
    countOf: async (room) => adapter.members(room).size,
    roomCount: async () => [...(adapter.roomNames?.() ?? [])].length,
  };
}

/**
 * Presence on one node: every local join and leave is news. Listeners are called after the
 * change (in a microtask), never inside `join`/`leave`, so a listener may join and leave too.
 */
export class LocalPresence implements MembershipObserver {
  private readonly listeners: Array<(event: PresenceEvent) => void> = [];

  constructor(private readonly nodeId: string) {}

  add(listener: (event: PresenceEvent) => void): void {
    this.listeners.push(listener);
  }

  joined(member: Member, room: string): void {
    this.emit({ type: 'join', room, memberId: member.id, nodeId: this.nodeId, member });
  }

  left(member: Member, room: string, reason: 'left' | RemovalReason): void {
    // A member that moved lives on elsewhere: it has not left.
    if (reason === 'moved') return;
    this.emit({ type: 'leave', reason, room, memberId: member.id, nodeId: this.nodeId, member });
  }

  private emit(event: PresenceEvent): void {
    queueMicrotask(() => {
      for (const listener of this.listeners) listener(event);
    });
  }
}
