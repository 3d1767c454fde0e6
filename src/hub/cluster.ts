/**
 * What a cluster backend gives a server: the shared session store (hub/session-store.ts) and
 * the adapter that fans out through the same broker. `switchyard/redis` makes one
 * (`redisCluster()`); a server given one shares its 0.6 sessions with every node on it.
 */
import type { Adapter } from './adapter.js';
import type { ClusterView } from './cluster-view.js';
import type { SessionStore } from './session-store.js';

export interface ClusterBackend {
  readonly store: SessionStore;
  readonly adapter: Adapter;
  /** The nodes and this node's standing, for operators (optional). */
  readonly view?: ClusterView;
  /** Connects and joins the cluster (this node's liveness); the server awaits it before it listens. */
  ready(): Promise<void>;
  /** Leaves the cluster, once this node's sessions have ended. */
  close(): Promise<void>;
}
