/**
 * What the cluster-wide queries of the facade share: the check of a room argument, and the
 * descriptor of a 0.6 session held by this node (`fetchSession`).
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
