/**
 * Every key and channel of a cluster, under one prefix. The keys of one session share a hash
 * tag (`{<sessionId>}`), and so do the keys of one node's log and its sharded fan-out channel
 * (`{<node>}`), so that each script touches one slot and the layout works on a Redis Cluster as
 * on one Redis. The keys without a tag (`nodes`, `alive:`, `owned:`, `epoch`) are only ever
 * used one at a time, by single-key commands: each may live on any shard.
 *
 *   <p>:s:{<sessionId>}   HASH    the session's record (owner, transport, seqs, rooms, data…)
 *   <p>:f:{<sessionId>}   STREAM  its frames not known to have reached the client, id <seq>-0
 *   <p>:nodes             HASH    node id → {"startedAt","seenAt"} of every node that joined
 *   <p>:alive:<node>      STRING  the node's liveness (PX nodeTtlMs, refreshed)
 *   <p>:owned:<node>      SET     the sessions the node owns
 *   <p>:log:{<node>}      STREAM  the node's fan-out log, id <ms>-<n>, trimmed by age
 *   <p>:epoch             STRING  set once per Redis: gone means Redis came back empty
 *   <p>:fanout            channel every node's fan-out, `<node>|<log id>|<envelope>` (classic pub/sub)
 *   <p>:fanout:{<node>}   channel one node's fan-out, the same messages (sharded pub/sub, Redis
 *                                 Cluster ≥ 7): in its log's slot, so one script writes both
 *   <p>:bus:<node>        channel the relay's messages to one node (classic or sharded)
 */
export class ClusterKeys {
  readonly nodes: string;
  readonly epoch: string;
  readonly fanOut: string;

  constructor(readonly prefix: string) {
    this.nodes = `${prefix}:nodes`;
    this.epoch = `${prefix}:epoch`;
    this.fanOut = `${prefix}:fanout`;
  }

  record(sessionId: string): string {
    return `${this.prefix}:s:{${sessionId}}`;
  }

  frames(sessionId: string): string {
    return `${this.prefix}:f:{${sessionId}}`;
  }

  alive(nodeId: string): string {
    return `${this.prefix}:alive:${nodeId}`;
  }

  owned(nodeId: string): string {
    return `${this.prefix}:owned:${nodeId}`;
  }

  log(nodeId: string): string {
    return `${this.prefix}:log:{${nodeId}}`;
  }

  /** A node's own fan-out channel, in its log's slot (sharded pub/sub). */
  fanOutOf(nodeId: string): string {
    return `${this.prefix}:fanout:{${nodeId}}`;
  }

  bus(nodeId: string): string {
    return `${this.prefix}:bus:${nodeId}`;
  }
}
