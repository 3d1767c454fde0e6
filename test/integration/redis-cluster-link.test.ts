/**
 * A node's link on a real Redis Cluster of three shards: it connects every shard, takes sharded
 * pub/sub (Redis ≥ 7) for its channels, and tells a command over two hash slots — Redis'
 * `CROSSSLOT`, ioredis' refusal before sending, a script reaching out of its slot — from an
 * outage: ERR_CROSS_SLOT, once per kind of command, the link staying up.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveRedisClusterOptions } from '../../src/adapters/redis/cluster-options.js';
import { RedisLink } from '../../src/adapters/redis/redis-link.js';
import type { RealtimeError } from '../../src/errors.js';
import { startRedisCluster, type RedisClusterServers } from '../helpers/redis-cluster.js';

/** Keys of two slots on two shards ({a} is slot 15495, {b} 3300; the slots are split evenly). */
const KEYS = ['t:{a}', 't:{b}'];

describe('the cluster link on a Redis Cluster', () => {
  let redis: RedisClusterServers;
  let link: RedisLink;
  const reported: RealtimeError[] = [];

  beforeAll(async () => {
    redis = await startRedisCluster();
    link = new RedisLink(resolveRedisClusterOptions({ url: redis.url, nodeId: 'n1' }));
    link.setReporter((error) => reported.push(error));
    await link.start();
  }, 60_000);
  afterAll(async () => {
    await link?.close();
    await redis?.stop();
  });

  it('uses sharded pub/sub and reaches every shard', async () => {
    expect(link.isSharded).toBe(true);
    const shards = redis.servers.map((_, index) => redis.connect(index));
    try {
      const names = await Promise.all(shards.map((shard) => shard.call('CLIENT', 'LIST')));
      for (const list of names) expect(String(list)).toContain('name=switchyard:n1:cluster');
    } finally {
      shards.forEach((shard) => shard.disconnect());
    }
  });

  it("takes classic pub/sub when told (pubSub: 'classic')", async () => {
    const classic = new RedisLink(resolveRedisClusterOptions({ url: redis.url, nodeId: 'n2', pubSub: 'classic' }));
    classic.on('sy:bus:n2', () => undefined);
    try {
      await classic.start();
      expect(classic.isSharded).toBe(false);
      expect(await classic.subscriberCount('sy:bus:n2')).toBe(1);
    } finally {
      await classic.close();
    }
  });

  it('reports keys of two slots as ERR_CROSS_SLOT, once per kind of command, and stays up', async () => {
    const byClient = await link.commands.del(...KEYS).catch((error: unknown) => error);
    const shard: Redis = redis.connect(0);
    const byRedis = await shard.del(...KEYS).catch((error: unknown) => error);
    const byScript = await link.commands
      .eval("return redis.call('SET', ARGV[1], 1)", 1, KEYS[0]!, KEYS[1]!)
      .catch((error: unknown) => error);
    shard.disconnect();
    link.failed('deleting', byClient);
    link.failed('deleting', byRedis);
    link.failed('setting from a script', byScript);
    expect(reported.map((error) => error.code)).toEqual(['ERR_CROSS_SLOT', 'ERR_CROSS_SLOT']);
    expect(reported[0]!.message).toContain('deleting failed');
    expect(String(byRedis)).toContain('CROSSSLOT');
    expect(link.isUp).toBe(true);
  });
});
