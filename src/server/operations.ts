/**
 * The server's side of the operations layer (src/ops/): the OpsSource it hands over, the
 * queues the dashboard ranks, and the Host of the server's own plain endpoints (the
 * dashboard's), which is apart from the application's — its own room model, no instruments,
 * no `authorize`, a small budget of its own — so those connections are never the application's.
 */
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { WebSocketEndpoint, type ConnectionHandler } from '../endpoints/endpoint.js';
import type { WebSocketEndpointOptions } from '../endpoints/options.js';
import type { UpgradeOutcome, UpgradeRoute } from '../http/upgrades.js';
import type { Adapter } from '../hub/adapter.js';
import type { ClusterView } from '../hub/cluster-view.js';
import { ConnectionBudget } from '../http/budget.js';
import { MemoryAdapter } from '../hub/adapter.js';
import { EventHub } from '../hub/events.js';
import type { Host } from '../hub/host.js';
import { NO_INSTRUMENTS } from '../hub/instruments.js';
import { Rooms } from '../hub/rooms.js';
import { isLoopbackAddress } from '../ops/admin.js';
import { OpsCounters } from '../ops/counters.js';
import { mountOps } from '../ops/mount.js';
import { NodeStatsMeter } from '../ops/node-stats.js';
import { roomSizes } from '../ops/snapshot.js';
import type { OpsOptions, OpsSource, QueueEntry } from '../ops/source.js';
import type { ResolvedOptions } from '../options.js';
import type { SacSockEndpoint } from '../sacsock/endpoint.js';
import type { Registry } from '../session/registry.js';
import { logUpgrade } from './lifecycle-log.js';
import { makeHost, type HostParts } from './host.js';
import type { ShutdownPhase } from './shutdown.js';

/** The server's own connections (dashboards) at once, at most, and per address. */
const INTERNAL_MAX_CONNECTIONS = 32;
const INTERNAL_MAX_PER_ADDRESS = 8;

export function makeInternalHost(
  parts: Pick<HostParts, 'log' | 'isShuttingDown' | 'reportError' | 'allowedHosts' | 'trustProxy'>,
): Host {
  return makeHost({
    ...parts,
    rooms: new Rooms(new MemoryAdapter()),
    events: new EventHub((error) => parts.reportError(error)),
    instruments: NO_INSTRUMENTS,
    budget: new ConnectionBudget({
      maxConnections: INTERNAL_MAX_CONNECTIONS,
      maxConnectionsPerAddress: INTERNAL_MAX_PER_ADDRESS,
    }),
    maxHandshakesPerSecondPerAddress: 0,
  });
}

/** Every application connection with its queue depth: 0.6 sessions, sac-sock sockets, plain connections. */
export function* connectionQueues(
  registry: Registry,
  sacSock: SacSockEndpoint | undefined,
  endpoints: readonly WebSocketEndpoint<unknown>[],
): Generator<QueueEntry> {
  for (const conn of registry.values()) {
    yield { id: conn.sessionId, family: 'socketio06', transport: conn.transport, queued: conn.queuedMessages };
  }
  for (const socket of sacSock?.values() ?? []) {
    yield { id: socket.id, family: 'sacsock', transport: 'websocket', queued: socket.unsentMessages };
  }
  for (const endpoint of endpoints) {
    for (const conn of endpoint.connections) {
      yield { id: conn.id, family: 'endpoint', transport: 'websocket', queued: conn.queuedSends };
    }
  }
}

/** Whether `server` listens on a loopback address only. */
export function listensOnLoopback(server: HttpServer | undefined): boolean {
  const address = server?.address() as AddressInfo | string | null | undefined;
  return typeof address === 'object' && address !== null && isLoopbackAddress(address.address);
}

/** What the server lends its operations part. */
export interface OperationsParts {
  readonly options: ResolvedOptions;
  readonly adapter: Adapter;
  /** In a cluster whose backend offers one: every node, and this node's standing. */
  readonly cluster: ClusterView | undefined;
  readonly hostParts: Pick<HostParts, 'log' | 'isShuttingDown' | 'reportError'>;
  readonly phase: () => ShutdownPhase;
  readonly httpServer: () => HttpServer | undefined;
  readonly clientAddress: (req: IncomingMessage) => string;
  readonly queues: () => Iterable<QueueEntry>;
  /** Adds an endpoint to the drain and its route to the upgrade dispatcher. */
  readonly addEndpoint: (endpoint: WebSocketEndpoint<never>, route: UpgradeRoute) => void;
}

/**
 * A server's operations part: its counters (when metrics or the dashboard are on), the count
 * of adapter failures, the upgrade log, the server's own endpoints and the mounting of
 * /healthz, /readyz, /metrics and /dashboard.
 */
export class Operations {
  /** What the metrics and the dashboard count, when either is on. */
  readonly counters: OpsCounters | undefined;
  /** Failures the adapter reported (`switchyard_adapter_errors_total`). */
  adapterErrors = 0;
  private internalHost: Host | undefined;
  private stopDashboard: () => void = () => undefined;

  constructor(private readonly parts: OperationsParts) {
    const { metrics, dashboard } = parts.options;
    // In a cluster the node's stats record (its sessions and load) is read from the counters too.
    const isCounting = metrics !== false || dashboard || parts.cluster !== undefined;
    this.counters = isCounting ? new OpsCounters() : undefined;
    if (parts.cluster !== undefined && this.counters !== undefined) {
      const meter = new NodeStatsMeter(this.counters, () => roomSizes(parts));
      parts.cluster.setStatsSource(() => meter.read());
    }
  }

  /** Mounts what the options ask for on `app` (the scope the server is registered in). */
  async mount(app: FastifyInstance): Promise<void> {
    const { metrics, health, dashboard, adminToken } = this.parts.options;
    if (!metrics && !health && !dashboard) return;
    const options: OpsOptions = {
      metrics: metrics !== false,
      health,
      dashboard,
      adminToken: adminToken === '' ? undefined : adminToken,
      aggregateWorkerMetrics: metrics === 'across-workers',
    };
    this.stopDashboard = await mountOps(app, this.source(), options);
  }

  /** Stops the dashboard's timer (the server is closing). */
  stop(): void {
    this.stopDashboard();
  }

  /** Every websocket upgrade a route took: counted when refused, logged at info. */
  onUpgradeOutcome(req: IncomingMessage, outcome: UpgradeOutcome): void {
    if (!outcome.isAccepted && this.counters !== undefined) this.counters.upgradesRefused++;
    const log = this.parts.hostParts.log();
    if (log !== undefined) logUpgrade(log, this.parts.clientAddress(req), outcome);
  }

  /**
   * A plain endpoint of the server's own (the dashboard's live feed): its connections are
   * not the application's — not counted, not in its rooms, not authorized by its hook, not in
   * its caps. Returns the room model they are in.
   */
  internalWebsocket<T>(path: string, options: WebSocketEndpointOptions<T>, handler: ConnectionHandler<T>): Rooms {
    this.internalHost ??= makeInternalHost({ ...this.parts.options, ...this.parts.hostParts });
    const endpoint = new WebSocketEndpoint<T>(path, options, handler, this.internalHost, undefined);
    this.parts.addEndpoint(endpoint as unknown as WebSocketEndpoint<never>, {
      match: (pathname) => endpoint.match(pathname),
      handle: (req, socket, head) => endpoint.handle(req, socket, head),
      isInternal: true,
    });
    return this.internalHost.rooms;
  }

  private source(): OpsSource {
    const { parts } = this;
    return {
      counters: this.counters ?? new OpsCounters(),
      adapter: parts.adapter,
      cluster: parts.cluster,
      log: parts.hostParts.log,
      shutdownPhase: parts.phase,
      isListening: () => parts.httpServer()?.listening === true,
      isLoopback: () => listensOnLoopback(parts.httpServer()),
      adapterErrors: () => this.adapterErrors,
      queues: parts.queues,
      internalWebsocket: (path, options, handler) => this.internalWebsocket(path, options, handler),
    };
  }
}
