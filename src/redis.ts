/**
 * `switchyard/redis`: the RedisAdapter, for several instances sharing fan-out. It is a subpath
 * of its own so that `import 'switchyard'` never loads ioredis, an optional peer dependency:
 * only an application that imports this module needs it installed. Without it, importing
 * this module fails with one line that says what to install (ERR_MISSING_DEPENDENCY), not
 * with a module-resolution stack from deep inside the adapter.
 */
import { RealtimeError } from './errors.js';

/** What a missing ioredis is reported as. */
export const MISSING_IOREDIS = 'switchyard/redis needs the ioredis package: npm install ioredis';

/** Fails with the one line when ioredis is not installed. */
async function requireIoredis(): Promise<void> {
  try {
    await import('ioredis');
  } catch (cause) {
    if ((cause as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw cause;
    throw new RealtimeError('ERR_MISSING_DEPENDENCY', MISSING_IOREDIS, { cause });
  }
}

await requireIoredis();
const adapterModule = await import('./adapters/redis/adapter.js');
const clusterModule = await import('./adapters/redis/cluster.js');

/** Fan-out shared by every instance on one Redis or a Redis Cluster (docs/cluster.md). */
export const RedisAdapter = adapterModule.RedisAdapter;
export type RedisAdapter = import('./adapters/redis/adapter.js').RedisAdapter;
export const resolveRedisAdapterOptions = adapterModule.resolveRedisAdapterOptions;
/** Sessions on Redis, shared by every node (the `cluster` server option; docs/cluster.md). */
export const redisCluster = clusterModule.redisCluster;
export type { RedisClusterBackend } from './adapters/redis/cluster.js';
export type { PubSubMode, RedisClusterOptions } from './adapters/redis/cluster-options.js';
export type { RedisAdapterEvents, RedisAdapterOptions, RedisAdapterStats } from './adapters/redis/adapter.js';
export { channelNames, decodeEnvelope, encodeEnvelope, DEFAULT_SERVER_GROUP } from './adapters/redis/envelope.js';
export type { ChannelKind, Envelope, ForwardedMessage } from './adapters/redis/envelope.js';
