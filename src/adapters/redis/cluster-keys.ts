/**
 * Every key and channel of a cluster, under one prefix. The keys of one session share a hash
 * tag (`{<sessionId>}`), and so do the keys of one node's log, so that each script touches one
 * slot and the layout works on a Redis Cluster as on one Redis.
 *
 *   <p>:s:{<sessionId>}   HASH    the session's record (owner, transport, seqs, rooms, data…)
 *   <p>:f:{<sessionId>}   STREAM  its frames not known to have reached the client, id <seq>-0
 *   <p>:nodes             HASH    node id → {"startedAt","seenAt"} of every node that joined
 *   <p>:alive:<node>      STRING  the node's liveness (PX nodeTtlMs, refreshed)
 *   <p>:owned:<node>      SET     the sessions the node owns
 *   <p>:stats:{<node>}    STRING  the node's stats record (JSON, PX nodeTtlMs, with its liveness)
 *   <p>:log:{<node>}      STREAM  the node's fan-out log, id <ms>-<n>, trimmed by age
 *   <p>:epoch             STRING  set once per Redis: gone means Redis came back empty
 *   <p>:r:{<room>}        SET     the room's members on every node, by id
 *   <p>:m:{<member>}      HASH    a member that is not a session (sac-sock, plain): node, rooms
 *   <p>:members:<node>    SET     those members of the node that are in a room (gone with it)
 *   <p>:rooms             ZSET    every room with members → when a node last saw it so
 *   <p>:h:{<room>}        LIST    the room's log (appendRoomLog), newest last
 *   <p>:released          ZSET    sessions let go at a shutdown → when their window ends
 *   <p>:fanout            channel every node's fan-out, `<node>|<log id>|<envelope>`
 *   <p>:fanout:{<node>}   channel the same, one node's, sharded (Redis Cluster ≥ 7: in its log's slot)
 *   <p>:bus:<node>        channel the relay's messages to one node
 */
export class ClusterKeys {
  readonly nodes: string;
  readonly epoch: string;
  readonly fanOut: string;
  readonly rooms: string;
  readonly released: string;

  constructor(readonly prefix: string) {
    this.nodes = `${prefix}:nodes`;
    this.epoch = `${prefix}:epoch`;
    this.fanOut = `${prefix}:fanout`;
    this.rooms = `${prefix}:rooms`;
    this.released = `${prefix}:released`;
  }

  room(room: string): string {
    return `${this.prefix}:r:{${room}}`;
  }

  roomLog(room: string): string {
    return `${this.prefix}:h:{${room}}`;
  }

  member(memberId: string): string {
    return `${this.prefix}:m:{${memberId}}`;
  }

  nodeMembers(nodeId: string): string {
    return `${this.prefix}:members:${nodeId}`;
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

  stats(nodeId: string): string {
    return `${this.prefix}:stats:{${nodeId}}`;
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
