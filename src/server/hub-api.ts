/**
 * The application's view of the hub, the same for every family: fan-out (broadcast, except,
 * rooms, socketcast), room membership and event handlers. The server below supplies the
 * adapter, the room API and the event hub it works on.
 */
import { EventEmitter } from 'node:events';
import { privateRoom, type Adapter, type FanOutReport } from '../hub/adapter.js';
import type { EventHandler, EventHub, SocketDisconnectListener, SocketListener } from '../hub/events.js';
import type { Member } from '../hub/member.js';
import { memberIds, type MemberRef, type Rooms, type Target } from '../hub/rooms.js';

/** Tallies of one broadcast: recipients reached, and sends their queue policy refused. */
export type BroadcastReport = FanOutReport;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- EventEmitter's own event-map constraint
export abstract class HubApi<Events extends Record<keyof Events, any[]>> extends EventEmitter<Events> {
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

  /** Sends a plain message to every connection; it is encoded once per wire format. */
  broadcast(value: unknown): BroadcastReport {
    return this.roomApi.target().send(value);
  }

  /** Sends a plain message to every connection but the excluded ones (members or ids). */
  broadcastExcept(except: MemberRef | Iterable<MemberRef>, value: unknown): BroadcastReport {
    return this.roomApi.target(undefined, memberIds(except)).send(value);
  }

  // ── Rooms and events (every protocol) ─────────────────────────────────────────────────

  /** Sets the handler of an event (one per name; `data` is the raw payload bytes). */
  onEvent(event: string, handler: EventHandler): this {
    this.events.on(event, handler);
    return this;
  }

  offEvent(event: string): this {
    this.events.off(event);
    return this;
  }

  /** Hears of every new socket, whatever its protocol, once it is in its private room. */
  onSocketConnect(listener: SocketListener): this {
    this.events.onConnect(listener);
    return this;
  }

  /** Hears of every socket that ended, after it has left every room. */
  onSocketDisconnect(listener: SocketDisconnectListener): this {
    this.events.onDisconnect(listener);
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

  /** The members of `room`: `to(room).emit(event, data)`, `.send(value)`, `.except(socket)`. */
  to(room: string): Target {
    return this.roomApi.target([room]);
  }

  /** Every member but these: `except(socket).emit(event, data)`. */
  except(refs: MemberRef | Iterable<MemberRef>): Target {
    return this.roomApi.target(undefined, memberIds(refs));
  }

  /** An event to every member of `room` (sacrificial-socket's `Roomcast`). */
  roomcast(room: string, event: string, data: unknown): BroadcastReport {
    return this.to(room).emit(event, data);
  }

  /** An event to one socket by id, through its private room (`Socketcast`). */
  socketcast(id: string, event: string, data: unknown): BroadcastReport {
    return this.to(privateRoom(id)).emit(event, data);
  }

  /** An event to every connection (`Broadcast`). */
  broadcastEvent(event: string, data: unknown): BroadcastReport {
    return this.roomApi.target().emit(event, data);
  }
}
