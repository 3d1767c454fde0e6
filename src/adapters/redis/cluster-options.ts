/**
 * The options of `redisCluster()`: sessions shared by several nodes on one Redis. Every
 * duration is in milliseconds, every size in bytes; each has a working default.
 */
import { nanoid } from 'nanoid';
import { DEFAULT_MAX_JSON_DEPTH } from '../../codecs/json-depth.js';
import { RealtimeError } from '../../errors.js';
import { connectionOptionProblem, type RedisClient } from './connections.js';

/**
 * Which pub/sub the node bus and the fan-out channels use on a Redis Cluster: `auto` takes
 * sharded pub/sub (SPUBLISH/SSUBSCRIBE: each message goes to one shard, not to all) when
 * Redis is 7 or newer and the installed ioredis has sharded subscribers, classic otherwise;
 * `classic` always takes classic pub/sub. One Redis always uses classic pub/sub.
 */
export type PubSubMode = 'auto' | 'classic';

export interface RedisClusterOptions {
  /**
   * Where Redis is: `redis://[user:password@]host:port[/db]` (`rediss://` for TLS) for one
   * Redis, `redis+cluster://[user:password@]host:port[,host:port…]` (`rediss+cluster://`) for a
   * Redis Cluster, with some of its nodes to start from. Default `redis://127.0.0.1:6379`.
   */
  url?: string;
  /** An ioredis client (`Redis` or `Cluster`) whose settings to reuse (`duplicate()`); it is never used or closed itself. */
  client?: RedisClient;
  /** Sharded pub/sub on a Redis Cluster where it can (`auto`), or classic pub/sub always. Default `auto`. */
  pubSub?: PubSubMode;
  /** This node's id, unique in the cluster. Default: a new nanoid. */
  nodeId?: string;
  /** Prefix of every key and channel, so that several clusters can share one Redis. Default `sy`. */
  keyPrefix?: string;
  /**
   * A node whose liveness key is this old is dead and its sessions are taken over. Refreshed
   * every quarter of it. Default 2 000 ms (sessions of a dead node are taken over within about
   * 2.5 s: well inside the 0.6 client's own retries and the reconnect window).
   */
  nodeTtlMs?: number;
  /**
   * How long each node's fan-out log keeps an entry: what a session taken over from a dead node
   * can still be given of what it missed. Default 60 000 ms.
   */
  fanOutLogRetentionMs?: number;
  /** How long a record outlives its session's last touch (a cluster that died whole). Default 60 000 ms. */
  recordTtlMs?: number;
  /** Most time `ready()` waits for Redis. Default 5 000 ms. */
  connectTimeoutMs?: number;
  /** Longest pause between reconnection attempts. Default 2 000 ms. */
  maxReconnectDelayMs?: number;
  /** A command without an answer this long fails (and is reported). Default 2 000 ms. */
  commandTimeoutMs?: number;
  /**
   * Most time a cluster-wide query (`fetchMembers`, `fetchMemberCount`, `fetchRooms`,
   * `fetchInRoom`, `fetchRoomCount`, `fetchSession`) waits for Redis before it rejects with
   * `ERR_QUERY_TIMEOUT`. Default 1 000 ms.
   */
  queryTimeoutMs?: number;
  /** Fan-out envelopes larger than this are not forwarded (reported). Default 16 MiB. */
  maxEnvelopeBytes?: number;
  /** Deepest nesting of a forwarded JSON value; deeper envelopes are dropped. Default 64; 0 = no bound. */
  maxJsonDepth?: number;
}

export type ResolvedRedisClusterOptions = Required<Omit<RedisClusterOptions, 'client'>> & { client?: RedisClient };

const DEFAULTS = {
  url: 'redis://127.0.0.1:6379',
  pubSub: 'auto',
  keyPrefix: 'sy',
  nodeTtlMs: 2_000,
  fanOutLogRetentionMs: 60_000,
  recordTtlMs: 60_000,
  connectTimeoutMs: 5_000,
  maxReconnectDelayMs: 2_000,
  commandTimeoutMs: 2_000,
  queryTimeoutMs: 1_000,
  maxEnvelopeBytes: 16 * 1024 * 1024,
  maxJsonDepth: DEFAULT_MAX_JSON_DEPTH,
} as const;

const POSITIVE_INTEGERS = [
  'nodeTtlMs',
  'fanOutLogRetentionMs',
  'recordTtlMs',
  'connectTimeoutMs',
  'maxReconnectDelayMs',
  'commandTimeoutMs',
  'queryTimeoutMs',
  'maxEnvelopeBytes',
] as const;

function invalid(message: string): never {
  throw new RealtimeError('ERR_INVALID_OPTION', `redisCluster: ${message}`);
}

/** Fills in the defaults and validates; throws ERR_INVALID_OPTION on the first bad option. */
export function resolveRedisClusterOptions(options: RedisClusterOptions = {}): ResolvedRedisClusterOptions {
  const defined = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
  const merged = { ...DEFAULTS, nodeId: nanoid(12), ...defined } as ResolvedRedisClusterOptions;
  for (const key of POSITIVE_INTEGERS) {
    const value = merged[key];
    if (!Number.isSafeInteger(value) || value <= 0) invalid(`${key} must be an integer > 0, got ${String(value)}`);
  }
  if (merged.nodeTtlMs < 100) invalid('nodeTtlMs must be at least 100');
  if (!Number.isSafeInteger(merged.maxJsonDepth) || merged.maxJsonDepth < 0) {
    invalid(`maxJsonDepth must be an integer ≥ 0, got ${String(merged.maxJsonDepth)}`);
  }
  const connectionProblem = connectionOptionProblem(merged.url, merged.client);
  if (connectionProblem !== undefined) invalid(connectionProblem);
  if (merged.pubSub !== 'auto' && merged.pubSub !== 'classic') invalid(`pubSub must be 'auto' or 'classic'`);
  // Node ids and the prefix go into key names and channels: keep them plain.
  if (!/^[\w.-]{1,64}$/.test(merged.nodeId)) invalid('nodeId must be 1–64 of [A-Za-z0-9_.-]');
  if (!/^[\w.-]{1,32}$/.test(merged.keyPrefix)) invalid('keyPrefix must be 1–32 of [A-Za-z0-9_.-]');
  return merged;
}
