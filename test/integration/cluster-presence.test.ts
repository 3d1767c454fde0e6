/**
 * Cluster-wide queries and presence with two nodes in this process on a real redis-server
 * (the three-node processes behind HAProxy, SIGKILLed, are in test/cluster/presence.test.ts),
 * and the same API on one node without a cluster: it answers for that node.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { redisCluster } from '../../src/adapters/redis/cluster.js';
import type { PresenceEvent } from '../../src/hub/membership.js';
import { JarPollClient } from '../helpers/jar-poll.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { SacSockTestClient } from '../helpers/sac-sock-client.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';

interface Node extends StartedServer {
  readonly nodeId: string;
  readonly presence: PresenceEvent[];
}

const QUERY_TIMEOUT_MS = 300;
let redis: RedisServer;
let nodes: Node[] = [];
const sockets: SacSockTestClient[] = [];
let prefix = 0;

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis.stop();
});
afterEach(async () => {
  sockets.splice(0).forEach((socket) => socket.close());
  redis.thaw();
  await Promise.all(nodes.map((node) => node.close().catch(() => undefined)));
  nodes = [];
});

/** Nodes on one Redis (a key prefix of this test's own), or one node alone with `cluster: false`. */
async function startNodes(count: number, cluster = true): Promise<Node[]> {
  const keyPrefix = `p${++prefix}`;
  nodes = await Promise.all(
    Array.from({ length: count }, async () => {
      const presence: PresenceEvent[] = [];
      const backend = cluster
        ? redisCluster({
            url: redis.url,
            keyPrefix,
            nodeTtlMs: 400,
            maxReconnectDelayMs: 100,
            queryTimeoutMs: QUERY_TIMEOUT_MS,
          })
        : undefined;
      const started = await startServer(
        {
          ...(backend && { cluster: backend }),
          heartbeatIntervalMs: 0,
          pollDurationMs: 1_000,
          reconnectWindowMs: 1_000,
          drainTimeoutMs: 500,
        },
        (server) => {
          server.onPresence((event) => void presence.push(event));
          server.onEvent('join', (socket, data) => socket.join(data.toString()));
          server.onEvent('leave', (socket, data) => socket.leave(data.toString()));
          server.on('error', () => undefined);
        },
      );
      return { ...started, nodeId: backend?.nodeId ?? 'local', presence };
    }),
  );
  return nodes;
}

/** A sac-sock socket on `node` in `room`; resolves with its member id once the node has it there. */
async function socketIn(node: Node, room: string): Promise<string> {
  const before = new Set(node.server.adapter.members(room));
  const socket = await SacSockTestClient.connect(`${node.wsUrl}/socket`);
  sockets.push(socket);
  socket.emit('join', room);
  let id = '';
  await waitFor(() => {
    id = [...node.server.adapter.members(room)].find((member) => !before.has(member)) ?? '';
    return id !== '';
  });
  return id;
}

const allPresence = () => nodes.flatMap((node) => node.presence.map((e) => `${e.type}:${e.room}:${e.memberId}`));

describe('cluster-wide queries', () => {
  it('every node answers for the members of every node', async () => {
    const [a, b] = await startNodes(2);
    const onA = await socketIn(a!, 'r');
    const onB = await socketIn(b!, 'r');
    await socketIn(b!, 'only-b');
    for (const node of [a!, b!]) {
      await waitFor(async () => (await node.server.fetchMemberCount('r')) === 2);
      expect((await node.server.fetchMembers('r')).sort()).toEqual([onA, onB].sort());
      expect(await node.server.fetchRooms(onB)).toEqual([`__socket_id:${onB}`, 'r']);
      expect(await node.server.fetchInRoom(onB, 'r')).toBe(true);
      expect(await node.server.fetchInRoom(onB, 'only-b')).toBe(false);
      expect(await node.server.fetchMembers(`__socket_id:${onA}`)).toEqual([onA]);
      expect(await node.server.fetchRoomCount()).toBe(2);
      expect(await node.server.fetchRooms('nobody')).toEqual([]);
    }
    // The synchronous questions keep their meaning: this node's members only.
    expect([...a!.server.adapter.members('r')]).toEqual([onA]);
    expect(a!.server.rooms(onB)).toEqual([]);
    await expect(a!.server.fetchMembers('')).rejects.toMatchObject({ code: 'ERR_BAD_REQUEST' });
  });

  it('a session of another node is described, rooms and data included; an unknown one is null', async () => {
    const [a, b] = await startNodes(2);
    const client = new JarPollClient(b!.baseUrl);
    await client.handshake();
    const conn = b!.server.getConn(client.sessionId)!;
    conn.data = { nick: 'ada' };
    b!.server.join(conn, 'lobby');
    await waitFor(async () => (await a!.server.fetchSession(client.sessionId))?.rooms.length === 1);
    const remote = await a!.server.fetchSession(client.sessionId);
    const local = await b!.server.fetchSession(client.sessionId);
    expect(remote).toMatchObject({ id: client.sessionId, rooms: ['lobby'], data: { nick: 'ada' }, connected: true });
    expect(remote!.nodeId).toBe(b!.nodeId);
    expect(local).toMatchObject({ ...remote, transport: 'xhr-polling' });
    expect(await a!.server.fetchSession('no-such-session')).toBeNull();
  });

  it('rejects with ERR_QUERY_TIMEOUT when Redis does not answer within queryTimeoutMs', async () => {
    const [a] = await startNodes(1);
    redis.freeze();
    const started = Date.now();
    await expect(a!.server.fetchMemberCount('r')).rejects.toMatchObject({ code: 'ERR_QUERY_TIMEOUT' });
    await expect(a!.server.fetchSession('some-session')).rejects.toMatchObject({ code: 'ERR_QUERY_TIMEOUT' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(QUERY_TIMEOUT_MS);
    redis.thaw();
    expect(await a!.server.fetchMemberCount('r')).toBe(0);
  });

  it('one node without a cluster answers the same questions for itself', async () => {
    const [solo] = await startNodes(1, false);
    const id = await socketIn(solo!, 'r');
    expect(await solo!.server.fetchMembers('r')).toEqual([id]);
    expect(await solo!.server.fetchMemberCount('r')).toBe(1);
    expect(await solo!.server.fetchRooms(id)).toEqual([`__socket_id:${id}`, 'r']);
    expect(await solo!.server.fetchRoomCount()).toBe(1);
    expect(await solo!.server.fetchSession('none')).toBeNull();
    sockets[0]!.close();
    await waitFor(() => solo!.presence.length === 2);
    expect(solo!.presence.map((e) => `${e.type}:${e.type === 'leave' ? e.reason : ''}`)).toEqual([
      'join:',
      'leave:ended',
    ]);
  });
});

describe('room logs', () => {
  it('every node reads what any node appended, newest kept; bad entries are refused', async () => {
    const [a, b] = await startNodes(2);
    for (let i = 1; i <= 4; i++) await (i % 2 === 0 ? a : b)!.server.appendRoomLog('r', { n: i }, 3);
    expect(await a!.server.fetchRoomLog('r')).toEqual([{ n: 2 }, { n: 3 }, { n: 4 }]);
    expect(await b!.server.fetchRoomLog('r')).toEqual([{ n: 2 }, { n: 3 }, { n: 4 }]);
    await expect(a!.server.appendRoomLog('r', 'x'.repeat(70_000))).rejects.toMatchObject({ code: 'ERR_TOO_LARGE' });
    await expect(a!.server.appendRoomLog('r', 1, 0)).rejects.toMatchObject({ code: 'ERR_BAD_REQUEST' });
    await expect(a!.server.appendRoomLog('r', undefined)).rejects.toMatchObject({ code: 'ERR_INVALID_MESSAGE' });
    await expect(a!.server.fetchRoomLog('')).rejects.toMatchObject({ code: 'ERR_BAD_REQUEST' });
  });
});

describe('presence', () => {
  it('one join and one leave in the cluster per member, on the node that saw it', async () => {
    const [a, b] = await startNodes(2);
    const onA = await socketIn(a!, 'r');
    const onB = await socketIn(b!, 'r');
    await waitFor(() => allPresence().length === 2);
    expect(a!.presence.map((e) => e.memberId)).toEqual([onA]);
    expect(b!.presence.map((e) => e.memberId)).toEqual([onB]);
    sockets[1]!.emit('leave', 'r');
    sockets[0]!.close();
    await waitFor(() => allPresence().length === 4);
    const leaves = nodes.flatMap((node) => node.presence.filter((e) => e.type === 'leave'));
    expect(leaves.map((e) => `${e.memberId}:${e.type === 'leave' ? e.reason : ''}`).sort()).toEqual(
      [`${onA}:ended`, `${onB}:left`].sort(),
    );
    expect(await a!.server.fetchRoomCount()).toBe(0);
  });

  it('a session let go at a shutdown leaves nothing on the way; never resumed, it leaves once when its window ends', async () => {
    const [a, b] = await startNodes(2);
    const client = new JarPollClient(b!.baseUrl);
    await client.handshake();
    b!.server.join(b!.server.getConn(client.sessionId)!, 'lobby');
    await waitFor(() => b!.presence.length === 1);
    await b!.close();
    nodes = [a!];
    expect(await a!.server.fetchMembers('lobby')).toEqual([client.sessionId]);
    expect(a!.presence).toEqual([]);
    await waitFor(() => a!.presence.length === 1, { timeoutMs: 5_000, what: 'the leave at the window end' });
    expect(a!.presence[0]).toMatchObject({ type: 'leave', reason: 'ended', memberId: client.sessionId });
    expect(await a!.server.fetchMembers('lobby')).toEqual([]);
    expect(await a!.server.fetchSession(client.sessionId)).toBeNull();
  });
});
