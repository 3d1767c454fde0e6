/**
 * The Adapter seam: every room membership and every fan-out (broadcast, except, roomcast,
 * socketcast) of one server goes through it. MemoryAdapter keeps everything in this process; an
 * adapter for several instances (Redis pub/sub) keeps membership local, as sacrificial-socket's hub
 * does (docs/protocol/sac-sock.md §5.1), and in `fanOut` delivers locally, then publishes (rooms,
 * event, value, except ids) for the other instances to deliver to their own members. Transports and
 * sessions never see which adapter is in use.
 *
 * Rules every adapter keeps (test/contract/adapter.contract.ts checks them):
 * - An added member is in its private room `__socket_id:<id>` (docs/protocol/sac-sock.md §2.7),
 *   so a socketcast is a roomcast to that room and works across instances.
 * - Joining is idempotent; leaving a room one is not in does nothing; an empty room is
 *   forgotten. `join` and `leave` of an unknown member (never added, or removed) do
 *   nothing and say so (sacrificial-socket let a closed socket rejoin and leak).
 * - `removeMember` leaves every room.
 * - `fanOut` hands one PreparedMessage to each recipient once (a member in several target
 *   rooms counts once), skips `except`, and never lets one recipient's refusal or throw
 *   stop the others; it reports what the local members accepted and refused.
 */
import { RealtimeError } from '../errors.js';
import type { Member } from './member.js';
import {
  LocalPresence,
  type MembershipObserver,
  type MembershipQueries,
  type PresenceEvent,
  type RemovalReason,
  type RoomLog,
} from './membership.js';
import type { PreparedMessage } from './prepared.js';
import type { LogPositions } from './session-store.js';

/**
 * The prefix of every member's private room (sacrificial-socket's convention,
 * docs/protocol/sac-sock.md §2.7).
 */
export const PRIVATE_ROOM_PREFIX = '__socket_id:';

/** The private room of the member with this id. */
export function privateRoom(id: string): string {
  return PRIVATE_ROOM_PREFIX + id;
}

/** Who a fan-out reaches. */
export interface FanOutTarget {
  /** The rooms whose members it reaches (each member once); undefined: every member. */
  readonly rooms?: readonly string[];
  /** Ids of members to skip. */
  readonly except?: ReadonlySet<string>;
}

/** Tallies of one fan-out on this instance: members that accepted it, and refusals. */
export interface FanOutReport {
  readonly delivered: number;
  readonly refused: number;
}

export interface Adapter {
  /** A member is connected: it can now join rooms and receive fan-out. */
  addMember(member: Member): void;
  /**
   * The member is gone: it leaves every room, its private one included. `moved` (a 0.6 session
   * handed off to, or taken over by, another node): it lives on there, so in a cluster its
   * rooms stay its own and no one hears it leave. Default `ended`.
   */
  removeMember(id: string, reason?: RemovalReason): void;
  /** False when the member is unknown (never added, or removed). */
  join(id: string, room: string): boolean;
  /** False when the member is unknown. */
  leave(id: string, room: string): boolean;
  /** The rooms of a member (its private room included); empty when unknown. */
  rooms(id: string): ReadonlySet<string>;
  /** The local members of a room, by id. */
  members(room: string): ReadonlySet<string>;
  /** Number of local members. */
  readonly size: number;
  /** Optional: the named rooms with local members (never private rooms), for metrics and the dashboard. */
  roomNames?(): Iterable<string>;
  /**
   * Optional: the cluster-wide questions (hub/membership.ts). Without them the server answers
   * from `rooms` and `members`: this node's members.
   */
  readonly queries?: MembershipQueries;
  /** Optional: a room log shared by every node (without it the server keeps one of its own). */
  readonly roomLog?: RoomLog;
  /** Optional: hears every presence change (once per cluster in a cluster). */
  onPresence?(listener: (event: PresenceEvent) => void): void;
  /** Delivers `message` to the target's members (and, across instances, hands it on). */
  fanOut(message: PreparedMessage, target: FanOutTarget): FanOutReport;
  /** Releases what the adapter holds (connections to a broker). */
  close(): Promise<void>;
  /**
   * Optional: resolves once the adapter can forward (a broker adapter's connections are up
   * and subscribed), rejects when it cannot. The server awaits it before it listens.
   */
  ready?(): Promise<void>;
  /**
   * Optional: the server hands over its error reporting (its `error` event and log) for
   * failures no call returns, such as a broker going away.
   */
  setErrorReporter?(report: (error: Error) => void): void;
  /**
   * Optional (cluster adapters): a member taken over from a node that died is added with its
   * rooms, and first given the fan-out its old node had not applied (from `logPositions`).
   * Without it the server adds the member and joins its rooms.
   */
  adopt?(member: Member, adopted: AdoptedMember): Promise<void>;
}

/** What a cluster adapter needs of a session taken over from a dead node. */
export interface AdoptedMember {
  readonly rooms: readonly string[];
  readonly logPositions: LogPositions;
  /** When it was made: it missed nothing older. */
  readonly openedAt: number;
}

const EMPTY: ReadonlySet<string> = new Set();

/**
 * The default adapter: one process, plain maps, no module-level state.
 *
 * Private rooms are not stored: `__socket_id:<id>` holds exactly the member `id` while it
 * is added (the Rooms API refuses to join names with that prefix), so they are answered
 * from `membersById`. Likewise a member's own room set exists only once it joins a room.
 * Most connections never join one, and two Sets per idle connection were a fifth of
 * Switchyard's memory per idle websocket beyond raw `ws` (bench D).
 */
export class MemoryAdapter implements Adapter {
  private readonly membersById = new Map<string, Member>();
  /** The named rooms of members that joined any. */
  private readonly joinedRooms = new Map<string, Set<string>>();
  /** The members of every named room (and of any private room joined explicitly). */
  private readonly roomMembers = new Map<string, Set<string>>();
  /** Told of every named room's change (presence here, or a cluster's shared membership). */
  private observer: MembershipObserver | undefined;
  private presence: LocalPresence | undefined;

  get size(): number {
    return this.membersById.size;
  }

  /** The named rooms with members (private rooms joined explicitly are left out). */
  *roomNames(): Generator<string> {
    for (const [room, members] of this.roomMembers) {
      if (members.size > 0 && !room.startsWith(PRIVATE_ROOM_PREFIX)) yield room;
    }
  }

  /** Tells `observer` of every change of a named room's members (one observer: a cluster adapter's). */
  observe(observer: MembershipObserver): void {
    this.observer = observer;
  }

  /** Presence on this node alone: every join and leave here is news. */
  onPresence(listener: (event: PresenceEvent) => void): void {
    if (this.presence === undefined) {
      this.presence = new LocalPresence('local');
      this.observer ??= this.presence;
    }
    this.presence.add(listener);
  }

  /** Every member in a named room, with those rooms (a cluster adapter's rounds). */
  *joinedMembers(): Generator<[Member, ReadonlySet<string>]> {
    for (const [id, rooms] of this.joinedRooms) {
      const member = this.membersById.get(id);
      if (member !== undefined) yield [member, rooms];
    }
  }

  addMember(member: Member): void {
    if (this.membersById.has(member.id)) {
      throw new RealtimeError('ERR_BAD_REQUEST', `a member with id ${member.id.slice(0, 4)}… is already added`);
    }
    this.membersById.set(member.id, member);
  }

  removeMember(id: string, reason: RemovalReason = 'ended'): void {
    const member = this.membersById.get(id);
    if (member === undefined) return;
    this.membersById.delete(id);
    const joined = this.joinedRooms.get(id);
    if (joined === undefined) return;
    this.joinedRooms.delete(id);
    for (const room of joined) {
      this.removeFromRoom(id, room);
      this.observer?.left(member, room, reason);
    }
  }

  join(id: string, room: string): boolean {
    if (!this.membersById.has(id)) return false;
    if (room === privateRoom(id)) return true;
    let joined = this.joinedRooms.get(id);
    if (joined === undefined) {
      joined = new Set();
      this.joinedRooms.set(id, joined);
    }
    if (joined.has(room)) return true;
    joined.add(room);
    let members = this.roomMembers.get(room);
    if (members === undefined) {
      members = new Set();
      this.roomMembers.set(room, members);
    }
    members.add(id);
    const member = this.membersById.get(id) as Member;
    member.roomsChanged?.(joined);
    this.observer?.joined(member, room);
    return true;
  }

  leave(id: string, room: string): boolean {
    if (!this.membersById.has(id)) return false;
    const joined = this.joinedRooms.get(id);
    if (joined?.delete(room) === true) {
      this.removeFromRoom(id, room);
      if (joined.size === 0) this.joinedRooms.delete(id);
      const member = this.membersById.get(id) as Member;
      member.roomsChanged?.(joined);
      this.observer?.left(member, room, 'left');
    }
    return true;
  }

  rooms(id: string): ReadonlySet<string> {
    if (!this.membersById.has(id)) return EMPTY;
    const rooms = new Set([privateRoom(id)]);
    for (const room of this.joinedRooms.get(id) ?? EMPTY) rooms.add(room);
    return rooms;
  }

  members(room: string): ReadonlySet<string> {
    const joined = this.roomMembers.get(room) ?? EMPTY;
    const owner = room.startsWith(PRIVATE_ROOM_PREFIX) ? room.slice(PRIVATE_ROOM_PREFIX.length) : undefined;
    if (owner === undefined || !this.membersById.has(owner)) return joined;
    return joined.size === 0 ? new Set([owner]) : new Set([owner, ...joined]);
  }

  fanOut(message: PreparedMessage, target: FanOutTarget): FanOutReport {
    let delivered = 0;
    let refused = 0;
    // A snapshot: a delivery may close its member (slow consumer), which removes it.
    for (const id of this.recipients(target)) {
      const member = this.membersById.get(id);
      if (member === undefined || target.except?.has(id) === true) continue;
      if (deliverSafely(member, message)) delivered++;
      else refused++;
    }
    return { delivered, refused };
  }

  async close(): Promise<void> {
    this.membersById.clear();
    this.joinedRooms.clear();
    this.roomMembers.clear();
  }

  private recipients(target: FanOutTarget): string[] {
    if (target.rooms === undefined) return [...this.membersById.keys()];
    if (target.rooms.length === 1) return [...this.members(target.rooms[0] as string)];
    const ids = new Set<string>();
    for (const room of target.rooms) for (const id of this.members(room)) ids.add(id);
    return [...ids];
  }

  private removeFromRoom(id: string, room: string): void {
    const members = this.roomMembers.get(room);
    if (members === undefined) return;
    members.delete(id);
    if (members.size === 0) this.roomMembers.delete(room);
  }
}

/** `deliver` must not throw; if one does anyway, it counts as a refusal, not as everyone's failure. */
function deliverSafely(member: Member, message: PreparedMessage): boolean {
  try {
    return member.deliver(message).ok;
  } catch {
    return false;
  }
}
