/**
 * The Redis connections every Redis part of Switchyard opens, with one policy: nothing waits
 * for a connection that is down (a command fails at once and its caller counts or reports
 * it, nothing is queued without bound), reconnection with a capped backoff, a name in
 * CLIENT LIST, and a bounded QUIT.
 *
 * One Redis (`redis://…`, an ioredis `Redis`) or a Redis Cluster (`redis+cluster://h1:p1,h2:p2`,
 * an ioredis `Cluster`): a Cluster client routes each command to the shard of its key's slot,
 * follows MOVED and ASK, and keeps one connection per shard.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

/** A connection to one Redis or to a Redis Cluster: the commands Switchyard sends are the same. */
export type RedisClient = Redis | Cluster;

export interface ConnectionSettings {
  /** `redis://…`, `rediss://…`, or `redis+cluster://…` / `rediss+cluster://…` for a Redis Cluster. */
  readonly url: string;
  /** A client whose settings to reuse (`duplicate()`), instead of `url`. */
  readonly client?: RedisClient | undefined;
  readonly connectTimeoutMs: number;
  readonly maxReconnectDelayMs: number;
  /** Shown in CLIENT LIST with the role. */
  readonly name: string;
}

/** What a connection may add to the policy; `shardedSubscribers` only means something on a Redis Cluster. */
export type ConnectionExtras = RedisOptions & { shardedSubscribers?: boolean };

const CLUSTER_URL = /^(rediss?)\+cluster:\/\/(?:([^@/\s]*)@)?([^@/\s]+?)\/?$/;

/** The startup nodes and credentials of a `redis+cluster://[user:password@]host:port[,host:port…]` URL. */
export interface ClusterUrl {
  readonly nodes: Array<{ host: string; port: number }>;
  readonly username?: string;
  readonly password?: string;
  readonly tls: boolean;
}

/** True for a URL or client that names a Redis Cluster. */
export function isCluster(settings: Pick<ConnectionSettings, 'url' | 'client'>): boolean {
  return settings.client === undefined ? settings.url.includes('+cluster://') : settings.client instanceof Cluster;
}

/** Parses a cluster URL; null when it is not one (the options say so, with the option's name). */
export function parseClusterUrl(url: string): ClusterUrl | null {
  const match = CLUSTER_URL.exec(url);
  if (match === null) return null;
  const nodes: Array<{ host: string; port: number }> = [];
  for (const part of (match[3] as string).split(',')) {
    // host:port, or [v6 address]:port
    const node = /^\[?([^\]\s]+?)\]?:(\d{1,5})$/.exec(part);
    const port = Number(node?.[2]);
    if (node === null || port < 1 || port > 65_535) return null;
    nodes.push({ host: node[1] as string, port });
  }
  const [user = '', password] = (match[2] ?? '').split(':', 2).map(decodeURIComponent);
  return {
    nodes,
    ...(user === '' ? {} : { username: user }),
    ...(password === undefined ? {} : { password }),
    tls: match[1] === 'rediss',
  };
}

/** Valid for the options of both RedisAdapter and redisCluster: one Redis or a Redis Cluster. */
export function isRedisUrl(url: unknown): boolean {
  if (typeof url !== 'string') return false;
  return /^rediss?:\/\/[^\s]+$/.test(url) || parseClusterUrl(url) !== null;
}

/** What is wrong with the `url` and `client` options of RedisAdapter or redisCluster, if anything. */
export function connectionOptionProblem(url: unknown, client: unknown): string | undefined {
  if (!isRedisUrl(url)) return 'url must be a redis://, rediss://, redis+cluster:// or rediss+cluster:// URL';
  if (client !== undefined && !(client instanceof Redis) && !(client instanceof Cluster)) {
    return 'client must be an ioredis Redis or Cluster client';
  }
  return undefined;
}

export function redisConnection(
  settings: ConnectionSettings,
  role: string,
  extra: ConnectionExtras,
  onError: (error: Error) => void,
): RedisClient {
  const { client, url, connectTimeoutMs, maxReconnectDelayMs, name } = settings;
  const { shardedSubscribers, enableAutoPipelining, ...perConnection } = extra;
  const options: RedisOptions = {
    lazyConnect: true,
    // CLIENT LIST shows whose connection it is (Redis refuses spaces in client names).
    connectionName: `switchyard:${name.replace(/[^\w.:-]/g, '_')}:${role}`,
    connectTimeout: connectTimeoutMs,
    retryStrategy: (times) => backoff(times, maxReconnectDelayMs),
    // Nothing waits for a connection that is down: a message that cannot go now is
    // dropped and counted, never queued without bound (pub/sub would not keep it anyway).
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    // Resubscribing is the caller's, so that it knows when it is done.
    autoResubscribe: false,
    ...(enableAutoPipelining === undefined ? {} : { enableAutoPipelining }),
    ...perConnection,
  };
  const redis = isCluster(settings)
    ? clusterConnection(settings, options, shardedSubscribers === true)
    : client === undefined
      ? new Redis(url, options)
      : (client as Redis).duplicate(options);
  // ioredis reports every failed reconnection attempt; callers report the loss once.
  redis.on('error', onError);
  if (redis instanceof Cluster) redis.on('node error', onError);
  return redis;
}

/**
 * A Cluster client with the same policy. Per-node settings go in `redisOptions`; a node's
 * own reconnection is the Cluster's (it refreshes the slots and follows the shards), and
 * ioredis resubscribes a Cluster's subscriptions itself when it moves them to another node.
 */
function clusterConnection(settings: ConnectionSettings, options: RedisOptions, shardedSubscribers: boolean): Cluster {
  // Nothing waits while the Cluster is down (its own enableOfflineQueue); a shard's connection
  // may hold a command while it connects, so that a command is never sent to another shard
  // meanwhile (ioredis would retry it there, then follow MOVED: out of order).
  const {
    lazyConnect,
    enableOfflineQueue,
    enableAutoPipelining,
    retryStrategy: _perNode,
    autoResubscribe: _resubscribedByCluster,
    enableOfflineQueue: _queuedPerNodeWhileConnecting,
    ...redisOptions
  } = options;
  const clusterOptions: ClusterOptions = {
    lazyConnect,
    enableOfflineQueue,
    enableAutoPipelining,
    shardedSubscribers,
    clusterRetryStrategy: (times) => backoff(times, settings.maxReconnectDelayMs),
    slotsRefreshTimeout: settings.connectTimeoutMs,
    redisOptions,
  };
  if (settings.client !== undefined) return (settings.client as Cluster).duplicate(undefined, clusterOptions);
  const parsed = parseClusterUrl(settings.url) as ClusterUrl;
  const { username, password } = parsed;
  clusterOptions.redisOptions = {
    ...redisOptions,
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    ...(parsed.tls ? { tls: {} } : {}),
  };
  return new Cluster(parsed.nodes, clusterOptions);
}

function backoff(times: number, maxMs: number): number {
  return Math.min(2 ** Math.min(times, 16) * 25, maxMs);
}

/** `host:port` of a connection, or of a Redis Cluster's startup nodes: never the URL, which may carry a password. */
export function whereOf(redis: RedisClient): string {
  if (redis instanceof Cluster) {
    const nodes = redis.nodes('master').map((node) => `${node.options.host ?? '?'}:${node.options.port ?? '?'}`);
    return `the Redis Cluster${nodes.length === 0 ? '' : ` at ${nodes.join(',')}`}`;
  }
  const { host, port } = redis.options;
  return `${host ?? '?'}:${port ?? '?'}`;
}

/**
 * Connects; on a Redis Cluster also every shard's connection (PING), so that the first commands
 * to a shard do not find it still connecting (ioredis would send them to another shard).
 */
export async function connectClient(redis: RedisClient): Promise<void> {
  await redis.connect();
  await pingEvery(redis);
}

/** PING; on a Redis Cluster every shard's connection (any one of them may be the one down). */
export async function pingEvery(redis: RedisClient): Promise<void> {
  if (redis instanceof Cluster) await Promise.all(redis.nodes('master').map((node) => node.ping()));
  else await redis.ping();
}

/**
 * QUIT when connected (Redis answers, then closes), waiting at most `limitMs` for a Redis
 * that stopped answering; then, or when not connected, just stop reconnecting.
 */
export async function quit(redis: RedisClient, limitMs: number): Promise<void> {
  if (redis.status === 'ready') {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, limitMs);
    });
    // A QUIT that fails means the connection broke meanwhile: disconnect() below is all that is left.
    await Promise.race([redis.quit().catch(() => undefined), limit]);
    clearTimeout(timer);
  }
  redis.disconnect();
}

/**
 * Redis (or ioredis, before sending) refusing keys of several hash slots in one command or
 * script: a bug in the key layout, never an outage. Its messages: `CROSSSLOT Keys in request
 * don't hash to the same slot`, ioredis' `All the keys in a pipeline command should belong to
 * the same slot`, and a script's `Script attempted to access a non local key` / `keys that do
 * not hash to the same slot`.
 */
export function isCrossSlot(error: unknown): boolean {
  return /CROSSSLOT|belong to the same slot|non local key|do not hash to the same slot/.test(messageOf(error));
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
