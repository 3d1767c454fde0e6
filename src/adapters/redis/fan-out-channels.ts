/**
 * The channels a cluster's fan-out travels on (cluster-adapter.ts publishes, this subscribes).
 *
 * Classic pub/sub (one Redis, or a Redis Cluster without sharded pub/sub): one channel,
 * `<p>:fanout`, that every node publishes on and subscribes to; on a Redis Cluster every
 * message goes to every shard.
 *
 * Sharded pub/sub (a Redis Cluster ≥ 7): one channel per node, `<p>:fanout:{<node>}`, in the
 * slot of that node's log, so that the one script that logs a fan-out also publishes it, on one
 * shard. Each node subscribes to the channel of every node listed in `<p>:nodes` (the node
 * registry's looks say which) and lets go of those forgotten. A node that starts waits, at most
 * `nodeTtlMs`, until the live nodes are subscribed to its channel (each follows it on its next
 * look), so that its first fan-out reaches them.
 */
import type { ClusterKeys } from './cluster-keys.js';
import type { ResolvedRedisClusterOptions } from './cluster-options.js';
import type { RedisLink } from './redis-link.js';

/** How often `heard` asks Redis how many nodes are subscribed to this node's channel. */
const HEARD_POLL_MS = 25;

export class FanOutChannels {
  /** Sharded pub/sub: the nodes whose channel this one is subscribed to, and subscriptions under way. */
  private readonly followed = new Set<string>();
  private following: Array<Promise<void>> = [];

  constructor(
    private readonly link: RedisLink,
    private readonly keys: ClusterKeys,
    private readonly options: ResolvedRedisClusterOptions,
    private readonly onRemote: (payload: string) => void,
  ) {}

  /** The channel `nodeId` publishes its fan-out on. */
  publishedOn(nodeId: string): string {
    return this.link.isSharded ? this.keys.fanOutOf(nodeId) : this.keys.fanOut;
  }

  /** Once the link is up (and knows whether it is sharded): the one classic channel. */
  async start(): Promise<void> {
    if (!this.link.isSharded) await this.link.listen(this.keys.fanOut, this.onRemote);
  }

  /** Sharded pub/sub: subscribes to the channel of every node listed, and of no other. */
  follow(nodeIds: readonly string[]): void {
    if (!this.link.isSharded) return;
    const listed = new Set(nodeIds);
    listed.delete(this.options.nodeId);
    for (const nodeId of listed) {
      if (this.followed.has(nodeId)) continue;
      this.followed.add(nodeId);
      const subscribed = this.link.listen(this.keys.fanOutOf(nodeId), this.onRemote);
      this.following.push(
        subscribed.catch((error: unknown) => {
          // The next look tries again.
          this.followed.delete(nodeId);
          this.link.failed(`subscribing to the fan-out of node ${nodeId}`, error);
        }),
      );
    }
    for (const nodeId of this.followed) {
      if (listed.has(nodeId)) continue;
      this.followed.delete(nodeId);
      // A channel nobody publishes on any more: failing to leave it costs nothing.
      this.link.unlisten(this.keys.fanOutOf(nodeId)).catch(() => undefined);
    }
  }

  /**
   * Sharded pub/sub: waits until the subscriptions made so far are done and `othersAlive`
   * nodes are subscribed to this node's channel, at most `nodeTtlMs`.
   */
  async heard(othersAlive: number): Promise<void> {
    if (!this.link.isSharded) return;
    const following = this.following;
    this.following = [];
    await Promise.all(following);
    const deadline = Date.now() + this.options.nodeTtlMs;
    const channel = this.keys.fanOutOf(this.options.nodeId);
    while ((await this.link.subscriberCount(channel)) < othersAlive && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, HEARD_POLL_MS));
    }
  }
}
