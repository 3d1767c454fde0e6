/**
 * The membership part of a cluster node's test application (test/cluster/node-server.ts):
 * members join and leave rooms, and the cluster-wide queries and the presence this node saw
 * are readable over HTTP.
 *
 *   0.6 message {join: R} / {leave: R}     the session joins or leaves room R
 *   sac-sock event join / leave, data R    the socket joins or leaves room R
 *   GET /test/room/:room       {members (sorted), count, localCount} from fetchMembers, fetchMemberCount
 *   GET /test/member/:id       {rooms (sorted), inLobby} from fetchRooms, fetchInRoom(id, 'lobby')
 *   GET /test/room-count       {count} from fetchRoomCount
 *   GET /test/describe/:id     fetchSession(id) (null when no node has it)
 *   GET /test/presence         {pid, events}: every presence event this node emitted, oldest first
 *   A query that fails answers 503 {code, message}.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Switchyard } from '../../src/server.js';

const MAX_EVENTS = 10_000;

interface SeenEvent {
  readonly type: string;
  readonly room: string;
  readonly memberId: string;
  readonly nodeId: string;
  /** When this node emitted it (one clock: every node runs on this machine). */
  readonly at: number;
  readonly reason?: string;
}

export function addMembershipRoutes(app: FastifyInstance, server: Switchyard): void {
  const seen: SeenEvent[] = [];
  server.onPresence((event) => {
    seen.push({
      type: event.type,
      room: event.room,
      memberId: event.memberId,
      nodeId: event.nodeId,
      at: Date.now(),
      ...(event.type === 'leave' ? { reason: event.reason } : {}),
    });
    if (seen.length > MAX_EVENTS) seen.shift();
  });
  server.onMessage((conn, data) => {
    if (typeof data !== 'object' || data === null) return;
    const request = data as { join?: unknown; leave?: unknown };
    if (typeof request.join === 'string') server.join(conn, request.join);
    if (typeof request.leave === 'string') server.leave(conn, request.leave);
  });
  server.onEvent('join', (socket, data) => socket.join(data.toString()));
  server.onEvent('leave', (socket, data) => socket.leave(data.toString()));

  app.get('/test/presence', async () => ({ pid: process.pid, events: seen }));
  app.get<{ Params: { room: string } }>('/test/room/:room', async (request, reply) =>
    answer(reply, async () => {
      const { room } = request.params;
      const [members, count] = await Promise.all([server.fetchMembers(room), server.fetchMemberCount(room)]);
      return { members: members.sort(), count, localCount: server.adapter.members(room).size };
    }),
  );
  app.get<{ Params: { id: string } }>('/test/member/:id', async (request, reply) =>
    answer(reply, async () => {
      const { id } = request.params;
      const [rooms, inLobby] = await Promise.all([server.fetchRooms(id), server.fetchInRoom(id, 'lobby')]);
      return { rooms: rooms.sort(), inLobby };
    }),
  );
  app.get('/test/room-count', async (_request, reply) =>
    answer(reply, async () => ({ count: await server.fetchRoomCount() })),
  );
  app.get<{ Params: { id: string } }>('/test/describe/:id', async (request, reply) =>
    answer(reply, async () => ({ session: await server.fetchSession(request.params.id) })),
  );
}

async function answer(reply: FastifyReply, query: () => Promise<unknown>): Promise<unknown> {
  try {
    return await query();
  } catch (error) {
    const code = (error as { code?: string }).code ?? 'ERR_INTERNAL';
    return reply.code(503).send({ code, message: error instanceof Error ? error.message : String(error) });
  }
}
