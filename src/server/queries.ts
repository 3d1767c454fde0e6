/**
 * What the cluster-wide queries of the facade share: the check of a room argument, the
 * descriptor of a 0.6 session held by this node (`fetchSession`), and room log entries.
 */
import { RealtimeError } from '../errors.js';
import { PRIVATE_ROOM_PREFIX } from '../hub/adapter.js';
import type { SessionDescriptor } from '../hub/session-store.js';
import type { Conn } from '../session/conn.js';

/** A room argument of a query: a non-empty string (private rooms may be asked about). */
export function checkQueryRoom(room: unknown): string {
  if (typeof room !== 'string' || room === '') {
    throw new RealtimeError('ERR_BAD_REQUEST', 'a room name is a non-empty string');
  }
  return room;
}

/** A session of this node, described as any node would describe it. */
export function describeConn(conn: Conn, nodeId: string, rooms: Iterable<string>): SessionDescriptor {
  const named = [...rooms].filter((room) => !room.startsWith(PRIVATE_ROOM_PREFIX));
  // Between two polls a session is still connected; a lost transport (it may come back) is not.
  const connected = conn.state === 'open' || (conn.state === 'detached' && !conn.isResumable);
  return {
    id: conn.sessionId,
    nodeId,
    transport: conn.transport,
    rooms: named,
    ...(conn.data === undefined ? {} : { data: conn.data }),
    connected,
    openedAt: conn.openedAt,
  };
}

/** Largest room log entry, as JSON text. */
const MAX_ROOM_LOG_ENTRY_BYTES = 64 * 1024;
const MAX_ROOM_LOG_ENTRIES = 10_000;

/** `value` as a room log entry (JSON text), checked; throws ERR_BAD_REQUEST / ERR_TOO_LARGE / ERR_INVALID_MESSAGE. */
export function roomLogEntry(value: unknown, maxEntries: number): string {
  if (!Number.isInteger(maxEntries) || maxEntries < 1 || maxEntries > MAX_ROOM_LOG_ENTRIES) {
    throw new RealtimeError('ERR_BAD_REQUEST', `maxEntries must be an integer 1–${MAX_ROOM_LOG_ENTRIES}`);
  }
  const entry = JSON.stringify(value) as string | undefined;
  if (entry === undefined) throw new RealtimeError('ERR_INVALID_MESSAGE', 'a room log entry needs a JSON form');
  if (Buffer.byteLength(entry) > MAX_ROOM_LOG_ENTRY_BYTES) {
    throw new RealtimeError('ERR_TOO_LARGE', `a room log entry is at most ${MAX_ROOM_LOG_ENTRY_BYTES} bytes of JSON`);
  }
  return entry;
}

/** An entry back as its value; one that does not parse (not written by a node) is left out. */
export function parseRoomLogEntry(entry: string): unknown[] {
  try {
    return [JSON.parse(entry)];
  } catch {
    return [];
  }
}
