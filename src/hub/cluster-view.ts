/**
 * What an operator sees of a cluster from one node (the dashboard, `/metrics`, `/readyz`):
 * every node with the small stats record it publishes with its liveness, and this node's own
 * standing with the broker. A cluster backend may offer one (`ClusterBackend.view`);
 * `redisCluster()` does.
 */

/** What a node publishes about itself every liveness round. Rates are per second over the last round. */
export interface NodeStats {
  /** 0.6 sessions this node owns. */
  readonly sessions: number;
  /** Every open connection here: 0.6 sessions, sac-sock sockets, plain connections. */
  readonly connections: number;
  readonly messagesInPerSecond: number;
  readonly messagesOutPerSecond: number;
  /** CPU time per second of wall time (1 = one core busy). */
  readonly cpuRatio: number;
  readonly rssBytes: number;
  /** Named rooms with a member here. */
  readonly roomCount: number;
  /** The largest of them with their members here, at most `MAX_PUBLISHED_ROOMS` (all when `roomCount` is no more). */
  readonly rooms: ReadonlyArray<readonly [name: string, members: number]>;
}

/** Rooms a node lists in its stats record, at most (the record is rewritten every liveness round). */
export const MAX_PUBLISHED_ROOMS = 1_000;

/** One node as this node last read it. */
export interface NodeView {
  readonly nodeId: string;
  /** The machine and process (from its stats record; empty while it has none). */
  readonly host: string;
  readonly pid: number;
  readonly startedAt: number;
  /** When its liveness was last written, as it said (ms since the epoch). */
  readonly seenAt: number;
  /** Its liveness key is there: the cluster counts it as alive. */
  readonly isAlive: boolean;
  /** This node. */
  readonly isSelf: boolean;
  /** Its last stats record; undefined once it lapsed (a node that died). */
  readonly stats: NodeStats | undefined;
}

/** Why a server should not be sent new clients (`/readyz`): a stable code and words for people. */
export interface NotReady {
  /** `ERR_ADAPTER_UNAVAILABLE` (the broker is unreachable), `ERR_NOT_READY`, `ERR_SHUTTING_DOWN`. */
  readonly code: 'ERR_ADAPTER_UNAVAILABLE' | 'ERR_NOT_READY' | 'ERR_SHUTTING_DOWN';
  readonly reason: string;
}

export interface ClusterView {
  readonly nodeId: string;
  /** Where this node's stats come from (the server sets it; called once per liveness round). */
  setStatsSource(read: () => NodeStats): void;
  /** Every node the cluster lists, read from the broker at most once per liveness round. */
  nodes(): Promise<readonly NodeView[]>;
  /** Why the cluster should not count on this node now (link down, liveness lapsing), or undefined. */
  notReady(): NotReady | undefined;
}
