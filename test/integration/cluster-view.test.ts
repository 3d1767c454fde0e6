/**
 * What an operator sees of a cluster from any one node, with two real nodes on a real Redis:
 * each node's stats record (sessions, load, rooms) in Redis with its liveness TTL; the
 * dashboard's snapshot listing both nodes and the cluster's rooms summed over them; `/metrics`
 * with per-node gauges and the cluster-wide room count; a node that leaves drops out.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { redisCluster, type RedisClusterBackend } from '../../src/adapters/redis/cluster.js';
import type { Snapshot } from '../../src/ops/snapshot.js';
import { JarPollClient } from '../helpers/jar-poll.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';
import { samples } from '../helpers/workers.js';

/** The default: a shorter one lapses on a loaded machine, and a takeover would move sessions mid-test. */
const NODE_TTL_MS = 2_000;

let redis: RedisServer;
let store: Redis;
const nodes: Array<{ started: StartedServer; backend: RedisClusterBackend }> = [];

async function startNode(rooms: readonly string[]): Promise<{ started: StartedServer; backend: RedisClusterBackend }> {
  const backend = redisCluster({ url: redis.url, keyPrefix: 'cv', nodeTtlMs: NODE_TTL_MS });
  const started = await startServer({ cluster: backend, metrics: true, dashboard: true, health: true });
  started.server.on('connection', (conn) => {
    for (const room of rooms) started.server.join(conn, room);
  });
  const node = { started, backend };
  nodes.push(node);
  return node;
}

beforeAll(async () => {
  redis = await startRedisServer();
  store = new Redis(redis.url);
});
afterAll(async () => {
  for (const node of nodes.splice(0)) await node.started.close();
  store?.disconnect();
  await redis?.stop();
});

/** The next snapshot from the node's live dashboard feed that satisfies `ok`. */
async function snapshot(baseUrl: string, ok: (snapshot: Snapshot) => boolean): Promise<Snapshot> {
  const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/dashboard/live`);
  let last: Snapshot | undefined;
  socket.on('message', (data) => (last = JSON.parse(String(data)) as Snapshot));
  try {
    await waitFor(() => last !== undefined && ok(last), { timeoutMs: 8_000, what: 'a matching snapshot' });
    return last!;
  } finally {
    socket.close();
  }
}

describe('the cluster as one node sees it', () => {
  it('lists every node with its sessions and the rooms summed over the nodes', async () => {
    const a = await startNode(['lobby', 'only-a']);
    const b = await startNode(['lobby']);
    for (const node of [a, a, b]) await new JarPollClient(node.started.baseUrl).handshake();

    const seen = await snapshot(
      b.started.baseUrl,
      (s) =>
        s.nodes.every((n) => n.stats?.sessions === (n.nodeId === a.backend.nodeId ? 2 : 1)) && s.nodes.length === 2,
    );
    expect(seen.nodes.map((n) => [n.nodeId, n.isAlive, n.isSelf, n.pid]).sort()).toEqual(
      [
        [a.backend.nodeId, true, false, process.pid],
        [b.backend.nodeId, true, true, process.pid],
      ].sort(),
    );
    expect(seen.clusterRooms).toEqual({
      count: 2,
      isExact: true,
      rooms: [
        { name: 'lobby', members: 3 },
        { name: 'only-a', members: 2 },
      ],
    });

    // The record lives as long as the node's liveness: a node that dies takes it along.
    const ttl = await store.pttl(`cv:stats:{${a.backend.nodeId}}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(NODE_TTL_MS);

    const text = await (await fetch(`${a.started.baseUrl}/metrics`)).text();
    expect(samples(text, 'switchyard_cluster_rooms').get('')).toBe(2);
    expect(samples(text, 'switchyard_node_sessions')).toEqual(
      new Map([
        [`{node="${a.backend.nodeId}"}`, 2],
        [`{node="${b.backend.nodeId}"}`, 1],
      ]),
    );
    expect(samples(text, 'switchyard_node_up').get(`{node="${b.backend.nodeId}"}`)).toBe(1);
  });

  it('drops a node that left', async () => {
    const [a, b] = nodes;
    await a!.started.close();
    nodes.shift();
    const seen = await snapshot(b!.started.baseUrl, (s) => s.nodes.length === 1);
    expect(seen.nodes[0]?.nodeId).toBe(b!.backend.nodeId);
    expect(seen.clusterRooms?.rooms).toEqual([{ name: 'lobby', members: 1 }]);
    expect(await store.exists(`cv:stats:{${a!.backend.nodeId}}`)).toBe(0);
  });
});
