/**
 * A real Redis Cluster of the test file's own: three `redis-server --cluster-enabled yes`
 * processes on free loopback ports (each with its own temporary directory, nodes.conf and
 * cluster bus port), joined as three masters without replicas by `redis-cli --cluster create`,
 * ready once every node says `cluster_state:ok` and knows all three. `stop()` ends exactly the
 * processes it started, by PID, and removes their directories. Debian's packages
 * (`node scripts/provision.mjs` installs redis-server and redis-tools).
 *
 *   const cluster = await startRedisCluster();
 *   redisCluster({ url: cluster.url });     // redis+cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3
 *   await cluster.stop();
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import type { RedisClient } from '../../src/adapters/redis/connections.js';
import { freePort } from './processes.js';
import { startRedisServer, type RedisServer } from './redis-server.js';
import { waitFor } from './wait-for.js';

export const REDIS_CLI_BINARY = '/usr/bin/redis-cli';
const MASTERS = 3;
const JOIN_TIMEOUT_MS = 20_000;
const run = promisify(execFile);

export interface RedisClusterServers {
  /** `redis+cluster://127.0.0.1:<p1>,127.0.0.1:<p2>,127.0.0.1:<p3>`: what redisCluster's `url` takes. */
  readonly url: string;
  /** `host:port` of every node. */
  readonly nodes: readonly string[];
  readonly servers: readonly RedisServer[];
  /** A plain connection to one node (for CLUSTER KEYSLOT and the like); the caller disconnects it. */
  connect(index?: number): Redis;
  /** A Cluster client (each command to the shard of its key); the caller disconnects it. */
  client(): Cluster;
  /** Ends every process and removes its directory. For afterAll. */
  stop(): Promise<void>;
}

/** Three masters, slots split evenly, no replicas. */
export async function startRedisCluster(): Promise<RedisClusterServers> {
  const started = await Promise.allSettled(Array.from({ length: MASTERS }, () => startRedisServer(clusterArgs)));
  const servers = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const stop = async () => {
    await Promise.all(servers.map((server) => server.stop()));
  };
  try {
    const failed = started.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    const nodes = servers.map((server) => `127.0.0.1:${server.port}`);
    await run(REDIS_CLI_BINARY, ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'], {
      timeout: JOIN_TIMEOUT_MS,
    });
    await waitFor(async () => (await Promise.all(servers.map((server) => isJoined(server.port)))).every(Boolean), {
      timeoutMs: JOIN_TIMEOUT_MS,
      intervalMs: 100,
      what: 'cluster_state:ok on every node',
    });
    return {
      url: `redis+cluster://${nodes.join(',')}`,
      nodes,
      servers,
      connect: (index = 0) => new Redis(servers[index]!.port, '127.0.0.1'),
      client: () => new Cluster(servers.map((server) => ({ host: '127.0.0.1', port: server.port }))),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A cluster node's own settings: the cluster bus on a port of its own (not port + 10 000, which may be taken or too high). */
async function clusterArgs(): Promise<string[]> {
  const busPort = await freePort();
  return [
    '--cluster-enabled',
    'yes',
    '--cluster-config-file',
    'nodes.conf',
    '--cluster-port',
    String(busPort),
    '--cluster-node-timeout',
    '2000',
  ];
}

/** True when the node says `cluster_state:ok` and knows every master. */
async function isJoined(port: number): Promise<boolean> {
  const redis = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const info = String(await redis.call('CLUSTER', 'INFO'));
    const known = /cluster_known_nodes:(\d+)/.exec(info)?.[1];
    return info.includes('cluster_state:ok') && Number(known) === MASTERS;
  } catch {
    // Not answering yet: the next look decides.
    return false;
  } finally {
    redis.disconnect();
  }
}

/** Where a test's nodes keep their state: one redis-server, or a Redis Cluster of three shards. */
export interface RedisBackend {
  readonly url: string;
  /** A connection of the test's own (to look at keys); the caller disconnects it. */
  connect(): RedisClient;
  /** The one redis-server (to kill and restart); undefined for a Redis Cluster. */
  readonly single: RedisServer | undefined;
  /** A plain connection to one server: the one redis-server, or a shard of the Redis Cluster. */
  shard(index: number): Redis;
  stop(): Promise<void>;
}

/**
 * The two backends, for `describe.each(REDIS_BACKENDS)('… on $name', ({ start, isSingle }) => …)`;
 * `isSingle` is known when tests are defined, so tests of one redis-server alone (a restart)
 * are defined for it alone.
 */
export const REDIS_BACKENDS = [
  {
    name: 'one Redis',
    isSingle: true,
    async start(): Promise<RedisBackend> {
      const server = await startRedisServer();
      const connect = () => new Redis(server.url);
      return { url: server.url, connect, single: server, shard: connect, stop: () => server.stop() };
    },
  },
  {
    name: 'a Redis Cluster (three shards)',
    isSingle: false,
    async start(): Promise<RedisBackend> {
      const cluster = await startRedisCluster();
      const { url, stop } = cluster;
      return {
        url,
        connect: () => cluster.client(),
        single: undefined,
        shard: (index) => cluster.connect(index),
        stop,
      };
    },
  },
];
