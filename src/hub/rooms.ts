/**
 * The room and event model every connection shares, whatever protocol it speaks: the
 * `Socket` interface (sacrificial-socket's socket API), the `Rooms` facade over the
 * Adapter that sockets and the server use, and `Target` for `to(room).except(x).emit(…)`.
 */
import { RealtimeError } from '../errors.js';
import { PRIVATE_ROOM_PREFIX, privateRoom, type Adapter, type FanOutReport } from './adapter.js';
import type { SendResult } from '../hub/results.js';
import type { Member } from './member.js';
import { NO_INSTRUMENTS, type Instruments } from './instruments.js';
import { PreparedMessage } from './prepared.js';
import type { DefaultEventsMap, EventNames, EventsMap, MessageOf } from './event-maps.js';

/** The protocol a socket speaks. */
export type SocketProtocol = 'sio' | 'sac-sock' | 'websocket';

/**
 * One connection with rooms and events, whatever its protocol. `emit` sends an event
 * (a string as text, bytes as binary, anything else as JSON); `send` a plain message
 * (sac-sock sockets get it as the event `message`).
 */
export interface Socket<EmitEvents extends EventsMap = DefaultEventsMap> extends Member {
  readonly protocol: SocketProtocol;
  readonly isOpen: boolean;
  emit<E extends EventNames<EmitEvents>>(event: E, data: EmitEvents[E]): SendResult;
  send(value: MessageOf<EmitEvents>): SendResult;
  join(room: string): boolean;
  leave(room: string): boolean;
  rooms(): string[];
  inRoom(room: string): boolean;
  close(): void;
}

/** Ids of the members named by a member, an id, or a list of them. */
export type MemberRef = Member | string;

export function memberIds(refs: MemberRef | Iterable<MemberRef>): Set<string> {
  const ids = new Set<string>();
  const list = typeof refs === 'string' || isMember(refs) ? [refs] : refs;
  for (const ref of list) ids.add(typeof ref === 'string' ? ref : ref.id);
  return ids;
}

function isMember(value: unknown): value is Member {
  return typeof value === 'object' && value !== null && 'id' in value && 'deliver' in value;
}

/**
 * Room membership and fan-out for one server, over its Adapter. A member's private room
 * (`__socket_id:<id>`) is its own: joining or leaving any private room through this API
 * is refused, so a client cannot subscribe to another socket's socketcasts.
 */
export class Rooms {
  constructor(
    readonly adapter: Adapter,
    /** Told of every fan-out (its deliveries and duration). */
    private readonly instruments: Instruments = NO_INSTRUMENTS,
  ) {}

  join(member: MemberRef, room: string): boolean {
    return this.adapter.join(idOf(member), checkRoom(room));
  }

  leave(member: MemberRef, room: string): boolean {
    return this.adapter.leave(idOf(member), checkRoom(room));
  }

  rooms(member: MemberRef): string[] {
    return [...this.adapter.rooms(idOf(member))];
  }

  inRoom(member: MemberRef, room: string): boolean {
    return this.adapter.rooms(idOf(member)).has(room);
  }

  /** Everyone, or the members of `rooms`, but for `except`. */
  target(rooms?: readonly string[], except?: ReadonlySet<string>): Target {
    return new Target(this.adapter, rooms, except, this.instruments);
  }
}

function idOf(member: MemberRef): string {
  return typeof member === 'string' ? member : member.id;
}

function checkRoom(room: string): string {
  if (typeof room !== 'string' || room === '') {
    throw new RealtimeError('ERR_BAD_REQUEST', 'a room name is a non-empty string');
  }
  if (room.startsWith(PRIVATE_ROOM_PREFIX)) {
    throw new RealtimeError('ERR_BAD_REQUEST', `room names starting with ${PRIVATE_ROOM_PREFIX} are private`);
  }
  return room;
}

/**
 * Who a fan-out reaches, built up immutably: `server.to('a').to('b').except(socket)`.
 * `emit` sends an event, `send` a plain message; both encode once per wire format and
 * return how many members accepted and refused it.
 */
export class Target<EmitEvents extends EventsMap = DefaultEventsMap> {
  constructor(
    private readonly adapter: Adapter,
    private readonly roomList?: readonly string[],
    private readonly excluded?: ReadonlySet<string>,
    private readonly instruments: Instruments = NO_INSTRUMENTS,
  ) {}

  /** Also the members of `room`. */
  to(room: string): Target<EmitEvents> {
    return new Target<EmitEvents>(this.adapter, [...(this.roomList ?? []), room], this.excluded, this.instruments);
  }

  /** Also the private room of the member with this id (a socketcast). */
  toSocket(id: string): Target<EmitEvents> {
    return this.to(privateRoom(id));
  }

  /** Skips these members (or ids). */
  except(refs: MemberRef | Iterable<MemberRef>): Target<EmitEvents> {
    const ids = memberIds(refs);
    for (const id of this.excluded ?? []) ids.add(id);
    return new Target<EmitEvents>(this.adapter, this.roomList, ids, this.instruments);
  }

  emit<E extends EventNames<EmitEvents>>(event: E, data: EmitEvents[E]): FanOutReport {
    return this.deliver(new PreparedMessage(data, event));
  }

  send(value: MessageOf<EmitEvents>): FanOutReport {
    return this.deliver(new PreparedMessage(value));
  }

  deliver(message: PreparedMessage): FanOutReport {
    const target = { rooms: this.roomList, except: this.excluded };
    const startedAt = performance.now();
    const report = this.adapter.fanOut(message, target);
    this.instruments.fannedOut(report.delivered, performance.now() - startedAt);
    return report;
  }
}
