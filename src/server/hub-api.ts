/**
 * The application's view of the hub, the same for every family: fan-out (broadcast, except,
 * rooms, socketcast), room membership and event handlers. The server below supplies the
 * adapter, the room API and the event hub it works on.
 */
import { EventEmitter } from 'node:events';
import { privateRoom, type Adapter, type FanOutReport } from '../hub/adapter.js';
import type { DefaultEventsMap, EventNames, EventsMap, MessageOf } from '../hub/event-maps.js';
import type { EventHub } from '../hub/events.js';
import type { DisconnectInfo } from '../hub/results.js';
import type { Member } from '../hub/member.js';
import { localQueries, MemoryRoomLog, type MembershipQueries, type RoomLog } from '../hub/membership.js';
import { memberIds, type MemberRef, type Rooms, type Socket, type Target } from '../hub/rooms.js';
import { checkQueryRoom, parseRoomLogEntry, roomLogEntry } from './queries.js';

/** Tallies of one broadcast: recipients reached, and sends their queue policy refused. */
export type BroadcastReport = FanOutReport;

/**
 * `ListenEvents` and `EmitEvents` are the application's typed event maps (hub/event-maps.ts):
 * types only, checked at compile time.
 */
export abstract class HubApi<
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- EventEmitter's own event-map constraint
  Events extends Record<keyof Events, any[]>,
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = DefaultEventsMap,
> extends EventEmitter<Events> {
  /** Room membership and fan-out of every connection, whatever its protocol. */
  abstract readonly adapter: Adapter;
  /**
   * Membership over the adapter, for the socket classes of endpoints (their
   * `join`/`leave`/`rooms`/`inRoom` sugar); applications use `server.join(…)` and friends.
   */
  abstract readonly roomApi: Rooms;
  /**
   * The event handlers and connect/disconnect listeners. Endpoints of other protocols call
   * `events.connected(socket)` after `addMember`, `events.dispatch(socket, event, bytes)`
   * for what arrives, and `events.disconnected(socket, info)` after `removeMember`.
   */
  abstract readonly events: EventHub;
  /** The adapter's room log, or this server's own (made on first use). */
  private ownRoomLog: RoomLog | undefined;

  /** Sends a plain message to every connection; it is encoded once per wire format. */
  broadcast(value: MessageOf<EmitEvents>): BroadcastReport {
    return this.roomApi.target().send(value);
  }

  /** Sends a plain message to every connection but the excluded ones (members or ids). */
  broadcastExcept(except: MemberRef | Iterable<MemberRef>, value: MessageOf<EmitEvents>): BroadcastReport {
    return this.roomApi.target(undefined, memberIds(except)).send(value);
  }

  // ── Rooms and events (every protocol) ─────────────────────────────────────────────────

  /**
   * Sets the handler of an event (one per name; `data` is the raw payload bytes). It may
   * return anything; a returned promise's rejection is reported as an `error` event.
   */
  onEvent<E extends EventNames<ListenEvents>>(
    event: E,
    handler: (socket: Socket<EmitEvents>, data: Buffer) => unknown,
  ): this {
    this.events.on(event, handler as (socket: Socket, data: Buffer) => unknown);
    return this;
  }

  offEvent(event: EventNames<ListenEvents>): this {
    this.events.off(event);
    return this;
  }

  /** Hears of every new socket, whatever its protocol, once it is in its private room. */
  onSocketConnect(listener: (socket: Socket<EmitEvents>) => unknown): this {
    this.events.onConnect(listener as (socket: Socket) => unknown);
    return this;
  }

  /** Hears of every socket that ended, after it has left every room. */
  onSocketDisconnect(listener: (socket: Socket<EmitEvents>, info: DisconnectInfo) => unknown): this {
    this.events.onDisconnect(listener as (socket: Socket, info: DisconnectInfo) => unknown);
    return this;
  }

  /** Puts a connection of another kind (a plain websocket endpoint) in the room model. */
  addMember(member: Member): void {
    this.adapter.addMember(member);
  }

  /** Takes it out again: it leaves every room. */
  removeMember(member: MemberRef): void {
    this.adapter.removeMember(typeof member === 'string' ? member : member.id);
  }

  /** Adds a member to a room; false when the member is not (or no longer) connected. */
  join(member: MemberRef, room: string): boolean {
    return this.roomApi.join(member, room);
  }

  leave(member: MemberRef, room: string): boolean {
    return this.roomApi.leave(member, room);
  }

  rooms(member: MemberRef): string[] {
    return this.roomApi.rooms(member);
  }

  inRoom(member: MemberRef, room: string): boolean {
    return this.roomApi.inRoom(member, room);
  }

  // ── Cluster-wide questions (every node's members; this node's alone without a cluster) ──

  /**
   * The rooms of a member on any node, its private room included (`rooms` answers for this
   * node's members only). Fresh as Redis is: see docs/cluster.md. Rejects with
   * `ERR_QUERY_TIMEOUT` after redisCluster's `queryTimeoutMs`, `ERR_ADAPTER_UNAVAILABLE` while Redis is down.
   */
  fetchRooms(member: MemberRef): Promise<string[]> {
    const id = typeof member === 'string' ? member : member.id;
    return this.ask((queries) => queries.roomsOf(id));
  }

  /** Whether a member of any node is in `room`. */
  fetchInRoom(member: MemberRef, room: string): Promise<boolean> {
    const id = typeof member === 'string' ? member : member.id;
    return this.ask((queries) => queries.isInRoom(id, checkQueryRoom(room)));
  }

  /** The ids of `room`'s members on every node. */
  fetchMembers(room: string): Promise<string[]> {
    return this.ask((queries) => queries.membersOf(checkQueryRoom(room)));
  }

  /** How many members `room` has on every node. */
  fetchMemberCount(room: string): Promise<number> {
    return this.ask((queries) => queries.countOf(checkQueryRoom(room)));
  }

  /** How many named rooms have a member on some node. */
  fetchRoomCount(): Promise<number> {
    return this.ask((queries) => queries.roomCount());
  }

  /**
   * Adds `value` (anything with a JSON form) to `room`'s log, keeping its newest `maxEntries`
   * (1–10 000, default 100): a short history every node of a cluster shares (on one node, kept
   * in this process). Bounded and refused like the queries; an entry over 64 KiB of JSON is
   * `ERR_TOO_LARGE`.
   */
  appendRoomLog(room: string, value: unknown, maxEntries = 100): Promise<void> {
    try {
      const entry = roomLogEntry(value, maxEntries);
      return this.roomLog.append(checkQueryRoom(room), entry, maxEntries);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** `room`'s log, oldest first (values as they were appended, through JSON). */
  async fetchRoomLog(room: string): Promise<unknown[]> {
    const entries = await this.roomLog.read(checkQueryRoom(room));
    return entries.flatMap((entry) => parseRoomLogEntry(entry));
  }

  private get roomLog(): RoomLog {
    this.ownRoomLog ??= this.adapter.roomLog ?? new MemoryRoomLog();
    return this.ownRoomLog;
  }

  /** Asks the adapter's cluster-wide queries (bounded by the cluster); without them, this node's answer. */
  protected ask<T>(query: (queries: MembershipQueries) => Promise<T>): Promise<T> {
    try {
      return query(this.adapter.queries ?? localQueries(this.adapter));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The members of `room`: `to(room).emit(event, data)`, `.send(value)`, `.except(socket)`. */
  to(room: string): Target<EmitEvents> {
    return this.roomApi.target([room]) as Target<EmitEvents>;
  }

  /** Every member but these: `except(socket).emit(event, data)`. */
  except(refs: MemberRef | Iterable<MemberRef>): Target<EmitEvents> {
    return this.roomApi.target(undefined, memberIds(refs)) as Target<EmitEvents>;
  }

  /** An event to every member of `room` (sacrificial-socket's `Roomcast`). */
  roomcast<E extends EventNames<EmitEvents>>(room: string, event: E, data: EmitEvents[E]): BroadcastReport {
    return this.to(room).emit(event, data);
  }

  /** An event to one socket by id, through its private room (`Socketcast`). */
  socketcast<E extends EventNames<EmitEvents>>(id: string, event: E, data: EmitEvents[E]): BroadcastReport {
    return this.to(privateRoom(id)).emit(event, data);
  }

  /** An event to every connection (`Broadcast`). */
  broadcastEvent<E extends EventNames<EmitEvents>>(event: E, data: EmitEvents[E]): BroadcastReport {
    return (this.roomApi.target() as Target<EmitEvents>).emit(event, data);
  }
}
