/**
 * The cluster on a Redis Cluster: three `redis-server --cluster-enabled yes` processes this file
 * starts and joins itself (test/helpers/redis-cluster.ts), node processes on it behind the
 * round-robin HAProxy (test/helpers/cluster.ts). What the other files run on one Redis runs here
 * on three shards: long-polling without stickiness, a node SIGKILLed mid-stream and its sessions
 * taken over, fan-out alone (RedisAdapter); and the layout that makes it work: each session's
 * keys on one shard, the cluster's fan-out and relay channels sharded (Redis ≥ 7).
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { explained, nodeOfSession, numbered, numbersOf, startBroadcasts } from '../helpers/cluster-app.js';
import { PollingClient, WebSocketClient, type LegacySocket } from '../helpers/legacy-socket.js';
import { startRedisCluster, type RedisClusterServers } from '../helpers/redis-cluster.js';
import { report } from '../helpers/report.js';
import { waitFor } from '../helpers/wait-for.js';

const CLIENTS = 12;
const NODE_OPTIONS = { heartbeatIntervalMs: 1_000, heartbeatTimeoutMs: 10_000, pollDurationMs: 2_000 };

let redis: RedisClusterServers;
const clients: LegacySocket[] = [];
const track = <T extends LegacySocket>(client: T): T => {
  clients.push(client);
  return client;
};

beforeAll(async () => {
  redis = await startRedisCluster();
}, 60_000);
afterAll(async () => {
  clients.forEach((client) => client.close());
  await redis?.stop();
});

/** Runs `count` broadcasts from `from`; resolves once every client has the last one. */
async function broadcastTo(cluster: Cluster, group: readonly LegacySocket[], tag: string, count: number) {
  await startBroadcasts(cluster.node('n1').url, { count, intervalMs: 10, tag });
  await waitFor(() => group.every((client) => numbersOf(client, tag).includes(count)), {
    timeoutMs: 60_000,
    what: `every client to have all ${count}`,
  });
}

/** Asks every shard; `ask` gets a plain connection to it, closed afterwards. */
async function everyShard<T>(ask: (shard: Redis) => Promise<T>): Promise<T[]> {
  const shards = redis.servers.map((_, index) => redis.connect(index));
  try {
    return await Promise.all(shards.map(ask));
  } finally {
    shards.forEach((shard) => shard.disconnect());
  }
}

describe('cluster sessions on a Redis Cluster of three shards, three nodes behind HAProxy', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    // Debug logs kept in memory: a client that lost or repeated a message shows what each node decided.
    cluster = await startCluster({
      nodes: 3,
      nodeOptions: { ...NODE_OPTIONS, logger: { level: 'debug' } },
      redis: { url: redis.url },
      keepLogLines: 20_000,
    });
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('long-polling without stickiness: every client gets 200 broadcasts once, in order, on its one session', async () => {
    const group = await Promise.all(
      Array.from({ length: CLIENTS }, () => PollingClient.connect(cluster.url).then(track)),
    );
    await broadcastTo(cluster, group, 'poll', 200);
    for (const client of group) {
      expect(numbersOf(client, 'poll')).toEqual(numbered('poll', 200).map((_, i) => i + 1));
      expect(new Set(client.sessionIds).size).toBe(1);
    }
    // The keys of one session live on one shard; the sessions on several.
    const keysPerShard = await everyShard((shard) => shard.keys('sy:*'));
    const shardsOfSession = new Map<string, Set<number>>();
    keysPerShard.forEach((keys, index) => {
      for (const key of keys) {
        const sessionId = /^sy:[sf]:\{(.+)\}$/.exec(key)?.[1];
        if (sessionId !== undefined)
          shardsOfSession.set(sessionId, (shardsOfSession.get(sessionId) ?? new Set()).add(index));
      }
    });
    for (const client of group) expect(shardsOfSession.get(client.sessionId)?.size).toBe(1);
    expect(new Set(group.map((client) => [...shardsOfSession.get(client.sessionId)!][0])).size).toBeGreaterThan(1);
  }, 120_000);

  it('fans out and relays on sharded channels (SSUBSCRIBE), none of them classic', async () => {
    const sharded = (await everyShard((shard) => shard.call('PUBSUB', 'SHARDCHANNELS', 'sy:*'))).flat();
    const expected = ['n1', 'n2', 'n3'].flatMap((node) => [`sy:fanout:{${node}}`, `sy:bus:${node}`]);
    expect(new Set(sharded)).toEqual(new Set(expected));
    expect((await everyShard((shard) => shard.call('PUBSUB', 'CHANNELS', 'sy:*'))).flat()).toEqual([]);
  });

  it('a node SIGKILLed mid-stream: its sessions are taken over, every client gets all 300 once, in order', async () => {
    const group = await Promise.all(
      Array.from({ length: CLIENTS }, () => PollingClient.connect(cluster.url).then(track)),
    );
    const onVictim = (await Promise.all(group.map((client) => nodeOfSession(cluster, client.sessionId)))).filter(
      (node) => node === 'n3',
    ).length;
    expect(onVictim).toBeGreaterThan(0);
    await startBroadcasts(cluster.node('n1').url, { count: 300, intervalMs: 15, tag: 'kill' });
    await waitFor(() => group.some((client) => numbersOf(client, 'kill').includes(100)), {
      timeoutMs: 20_000,
      what: 'the 100th broadcast',
    });
    await cluster.node('n3').kill('SIGKILL');
    await waitFor(() => group.every((client) => numbersOf(client, 'kill').includes(300)), {
      timeoutMs: 60_000,
      what: 'every client to have all 300',
    });
    for (const client of group) {
      explained(cluster, client, () => {
        expect(numbersOf(client, 'kill')).toEqual(numbered('kill', 300).map((_, i) => i + 1));
        expect(new Set(client.sessionIds).size).toBe(1);
      });
    }
    report(`Redis Cluster, node kill: ${onVictim} of ${CLIENTS} sessions taken over; 0 missing, 0 duplicated`);
  }, 120_000);
});

describe('fan-out only (RedisAdapter) on a Redis Cluster of three shards, two nodes', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster({ nodes: 2, mode: 'fanout', haproxy: false, redis: { url: redis.url } });
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('a websocket client of each node gets 300 broadcasts of n1 once, in order', async () => {
    const group = await Promise.all(cluster.nodes.map((node) => WebSocketClient.connect(node.url).then(track)));
    await broadcastTo(cluster, group, 'ws', 300);
    for (const client of group) expect(numbersOf(client, 'ws')).toEqual(numbered('ws', 300).map((_, i) => i + 1));
  }, 60_000);
});
