/**
 * The Redis Cluster form of the `url` option (`redis+cluster://h1:p1,h2:p2`), shared by
 * redisCluster and RedisAdapter: what it parses to, and what both refuse. No connection is
 * opened (lazyConnect: nothing connects before ready()).
 */
import { describe, expect, it } from 'vitest';
import { RedisAdapter } from '../../src/adapters/redis/adapter.js';
import { redisCluster } from '../../src/adapters/redis/cluster.js';
import { isCluster, parseClusterUrl } from '../../src/adapters/redis/connections.js';

describe('redis+cluster:// URLs', () => {
  it('parses the startup nodes, credentials and TLS', () => {
    expect(parseClusterUrl('redis+cluster://10.0.0.1:7000,10.0.0.2:7001')).toEqual({
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
      ],
      tls: false,
    });
    expect(parseClusterUrl('rediss+cluster://app:s%40cret@redis.example:6380/')).toEqual({
      nodes: [{ host: 'redis.example', port: 6380 }],
      username: 'app',
      password: 's@cret',
      tls: true,
    });
    expect(parseClusterUrl('redis+cluster://:pw@[::1]:7000')).toEqual({
      nodes: [{ host: '::1', port: 7000 }],
      password: 'pw',
      tls: false,
    });
  });

  it('refuses a node without a port, a port out of range, a database and other schemes', () => {
    for (const url of [
      'redis+cluster://10.0.0.1',
      'redis+cluster://10.0.0.1:0',
      'redis+cluster://10.0.0.1:70000',
      'redis+cluster://10.0.0.1:7000,',
      'redis+cluster://10.0.0.1:7000/2',
      'redis://10.0.0.1:7000',
      'http+cluster://10.0.0.1:7000',
    ]) {
      expect(parseClusterUrl(url), url).toBeNull();
    }
  });

  it('is a Redis Cluster for both redisCluster and RedisAdapter; a redis:// URL is one Redis', () => {
    expect(isCluster({ url: 'redis+cluster://127.0.0.1:7000' })).toBe(true);
    expect(isCluster({ url: 'redis://127.0.0.1:6379' })).toBe(false);
    expect(redisCluster({ url: 'redis+cluster://127.0.0.1:7000,127.0.0.1:7001' }).options.pubSub).toBe('auto');
  });

  it('is refused with ERR_INVALID_OPTION when malformed, as is an unknown pubSub', () => {
    const invalid = expect.objectContaining({ code: 'ERR_INVALID_OPTION' });
    expect(() => redisCluster({ url: 'redis+cluster://127.0.0.1' })).toThrow(invalid);
    expect(() => new RedisAdapter({ url: 'redis+cluster://127.0.0.1:7000/1' })).toThrow(invalid);
    expect(() => redisCluster({ pubSub: 'sharded' as 'auto' })).toThrow(invalid);
  });
});
