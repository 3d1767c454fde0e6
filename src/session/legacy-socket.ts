import type { Conn } from './conn.js';
import type { SendResult } from '../hub/results.js';
import { PreparedMessage } from '../hub/prepared.js';
import type { Rooms, Socket } from '../hub/rooms.js';

/**
 * A 0.6 session seen as a `Socket`: rooms and events on top of its Conn. Conn stays the
 * Member the adapter holds (same id, the session id); this is only the application API,
 * one per session. `emit` sends the JSON envelope `{"event":…, "data":…}`.
 */
export class LegacySocket implements Socket {
  readonly protocol = 'sio' as const;

  constructor(
    readonly conn: Conn,
    private readonly roomApi: Rooms,
  ) {}

  get id(): string {
    return this.conn.sessionId;
  }

  get isOpen(): boolean {
    return this.conn.isOpen;
  }

  deliver(message: PreparedMessage): SendResult {
    return this.conn.deliver(message);
  }

  emit(event: string, data: unknown): SendResult {
    return this.conn.deliver(new PreparedMessage(data, event));
  }

  send(value: unknown): SendResult {
    return this.conn.send(value);
  }

  join(room: string): boolean {
    return this.roomApi.join(this.id, room);
  }

  leave(room: string): boolean {
    return this.roomApi.leave(this.id, room);
  }

  rooms(): string[] {
    return this.roomApi.rooms(this.id);
  }

  inRoom(room: string): boolean {
    return this.roomApi.inRoom(this.id, room);
  }

  close(): void {
    this.conn.close();
  }
}
