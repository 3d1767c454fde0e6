/**
 * What the operations layer reads from the server it watches. The facade (server.ts) hands
 * one over when it mounts; ops never imports the facade, so there is no cycle.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { ConnectionHandler } from '../endpoints/endpoint.js';
import type { WebSocketEndpointOptions } from '../endpoints/options.js';
import type { Adapter } from '../hub/adapter.js';
import type { ClusterView } from '../hub/cluster-view.js';
import type { Family } from '../hub/instruments.js';
import type { Rooms } from '../hub/rooms.js';
import type { ShutdownPhase } from '../server/shutdown.js';
import type { OpsCounters } from './counters.js';

/** One connection's queue, for the dashboard's deepest queues. */
export interface QueueEntry {
  readonly id: string;
  readonly family: Family;
  readonly transport: string;
  /** Messages waiting to be written. */
  readonly queued: number;
}

export interface OpsSource {
  readonly counters: OpsCounters;
  readonly adapter: Adapter;
  /** In a cluster whose backend offers one: every node, and this node's standing. */
  readonly cluster: ClusterView | undefined;
  log(): FastifyBaseLogger | undefined;
  shutdownPhase(): ShutdownPhase;
  /** Whether the HTTP server this is mounted on listens (the host's, in plugin mode). */
  isListening(): boolean;
  /** Whether it listens on a loopback address only. */
  isLoopback(): boolean;
  adapterErrors(): number;
  /** Every connection with its queue depth (bounded by the caller). */
  queues(): Iterable<QueueEntry>;
  /**
   * A plain endpoint that is the server's own, not the application's: not counted, not in the
   * application's room model, not authorized by its hook, not in its caps.
   */
  internalWebsocket<T>(path: string, options: WebSocketEndpointOptions<T>, handler: ConnectionHandler<T>): Rooms;
}

/** The options of the operations endpoints (server options of the same names). */
export interface OpsOptions {
  readonly metrics: boolean;
  readonly health: boolean;
  readonly dashboard: boolean;
  readonly adminToken: string | undefined;
  /** In a node:cluster worker: `/metrics` answers for every worker of the machine (worker-metrics.ts). */
  readonly aggregateWorkerMetrics: boolean;
}
