/**
 * `redisCluster()`: several Switchyard nodes on one Redis (or one Redis Cluster) as one server
 * for the 0.6 sessions.
 *
 *   import { createServer } from 'switchyard';
 *   import { redisCluster } from 'switchyard/redis';
 *   const server = createServer({ cluster: redisCluster({ url: process.env.REDIS_URL }) });
 *   // a Redis Cluster: url 'redis+cluster://10.0.0.1:6379,10.0.0.2:6379' (connections.ts)
 *
 * Any node serves any request of any session (behind any load balancer, no stickiness), a
 * session outlives its node, and the unmodified 0.6 client comes back to its own session.
 * See docs/cluster.md.
 */
import type { ClusterBackend } from '../../hub/cluster.js';
import { ClusterAdapter } from './cluster-adapter.js';
import { ClusterKeys } from './cluster-keys.js';
import { RedisClusterView } from './cluster-view.js';
import {
  resolveRedisClusterOptions,
  type RedisClusterOptions,
  type ResolvedRedisClusterOptions,
} from './cluster-options.js';
import { NodeRegistry } from './node-registry.js';
import { RedisLink } from './redis-link.js';
import { RedisSessionStore } from './session-store.js';

/** A cluster backend on Redis, with what tests and operators may want to look at. */
export interface RedisClusterBackend extends ClusterBackend {
  readonly store: RedisSessionStore;
  readonly adapter: ClusterAdapter;
  readonly options: ResolvedRedisClusterOptions;
  readonly view: RedisClusterView;
  readonly nodeId: string;
  /** True while this node's connections to Redis are up. */
  readonly isUp: boolean;
  /** Stops this node's liveness without a word, as if it had died (for tests of takeover). */
  vanish(): Promise<void>;
}

export function redisCluster(options: RedisClusterOptions = {}): RedisClusterBackend {
  const resolved = resolveRedisClusterOptions(options);
  const keys = new ClusterKeys(resolved.keyPrefix);
  const link = new RedisLink(resolved);
  const nodes = new NodeRegistry(link, keys, resolved);
  const store = new RedisSessionStore(link, keys, nodes, resolved);
  const adapter = new ClusterAdapter(link, keys, resolved);
  // Sharded pub/sub: each node's fan-out has a channel of its own; follow the nodes listed.
  nodes.onNodesListed((nodeIds) => adapter.follow(nodeIds));
  const view = new RedisClusterView(link, keys, nodes, resolved);
  // Members that go with their node leave their rooms when it dies; an empty Redis gets them back.
  nodes.onNodeDown((nodeId) => void adapter.membership.nodeDown(nodeId));
  nodes.onStoreLost(() => adapter.membership.restore());
  let started: Promise<void> | undefined;
  let closed: Promise<void> | undefined;
  return {
    store,
    adapter,
    view,
    options: resolved,
    nodeId: resolved.nodeId,
    get isUp() {
      return link.isUp;
    },
    ready() {
      started ??= (async () => {
        await link.start();
        await adapter.start();
        await nodes.join();
        // Sharded pub/sub: the live nodes hear this one's first fan-out.
        await adapter.heard(nodes.othersAlive);
        await adapter.membership.start();
      })();
      return started;
    },
    close() {
      closed ??= (async () => {
        await started?.catch(() => undefined);
        await nodes.leave();
        await adapter.close();
        await link.close();
      })();
      return closed;
    },
    async vanish() {
      nodes.stop();
      adapter.membership.stop();
      await link.close();
    },
  };
}
