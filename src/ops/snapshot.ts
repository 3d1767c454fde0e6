/**
 * What the dashboard shows, made once a second while a dashboard is open: sessions by family
 * and transport, message totals (the page turns them into rates), losses, overflows and
 * refusals, the busiest rooms, the deepest queues (ids redacted), and the cluster: every node
 * with its sessions and load (read by `readNodes` before the snapshot is made).
 */
import type { NodeStats, NodeView } from '../hub/cluster-view.js';
import { redactSessionId } from '../hub/ids.js';
import { FAMILIES } from './counters.js';
import { notReady } from './health.js';
import { clusterRooms, type RoomSize } from './node-stats.js';
import type { OpsSource, QueueEntry } from './source.js';

/** Rows of the rooms table and of the queues table, at most. */
const MAX_ROOMS = 20;
const MAX_QUEUES = 10;
/** Connections looked at for the deepest queues in one tick, at most (a bound on the work). */
const MAX_QUEUES_SCANNED = 200_000;

export interface Snapshot {
  readonly at: number;
  readonly phase: string;
  readonly notReady: string | null;
  readonly memory: { readonly rssBytes: number; readonly heapUsedBytes: number };
  readonly sessions: ReadonlyArray<{ family: string; transport: string; open: number }>;
  readonly received: number;
  readonly sent: number;
  readonly lost: ReadonlyArray<{ family: string; reason: string; count: number }>;
  readonly overflows: number;
  readonly upgradesRefused: number;
  readonly adapterErrors: number;
  readonly roomCount: number;
  readonly rooms: ReadonlyArray<{ name: string; members: number }>;
  readonly queues: ReadonlyArray<QueueEntry>;
  readonly cluster: { adapter: string; serverName?: string; isForwarding?: boolean };
  /** Every node of the cluster with its last stats (empty without a cluster view). */
  readonly nodes: readonly NodeView[];
  /** The cluster's rooms from the live nodes' records (null without a cluster view). */
  readonly clusterRooms: { count: number; isExact: boolean; rooms: readonly RoomSize[] } | null;
}

/** The cluster's nodes for a snapshot: none without a cluster view, or while its broker cannot say. */
export async function readNodes(source: Pick<OpsSource, 'cluster'>): Promise<readonly NodeView[]> {
  return (await source.cluster?.nodes().catch(() => undefined)) ?? [];
}

export function makeSnapshot(source: OpsSource, nodes: readonly NodeView[] = []): Snapshot {
  const c = source.counters;
  const sessions = FAMILIES.flatMap((family) =>
    [...c.open[family]].filter(([, open]) => open > 0).map(([transport, open]) => ({ family, transport, open })),
  );
  const lost = FAMILIES.flatMap((family) =>
    [...c.lostByReason[family]].map(([reason, count]) => ({ family, reason, count })),
  );
  const sum = (table: Record<string, number>) => Object.values(table).reduce((a, b) => a + b, 0);
  const { rssBytes, heapUsedBytes } = memory();
  const rooms = roomSizes(source);
  return {
    at: Date.now(),
    phase: source.shutdownPhase(),
    notReady: notReady(source)?.reason ?? null,
    memory: { rssBytes, heapUsedBytes },
    sessions,
    received: sum(c.receivedTotal),
    sent: sum(c.sentTotal),
    lost,
    overflows: sum(c.overflows),
    upgradesRefused: c.upgradesRefused,
    adapterErrors: source.adapterErrors(),
    roomCount: rooms.length,
    rooms: rooms.sort((a, b) => b.members - a.members || a.name.localeCompare(b.name)).slice(0, MAX_ROOMS),
    queues: deepestQueues(source.queues()),
    cluster: cluster(source),
    nodes: nodes.map(({ stats, ...node }) => ({
      ...node,
      stats: stats === undefined ? undefined : withoutRooms(stats),
    })),
    clusterRooms: source.cluster === undefined ? null : topClusterRooms(nodes),
  };
}

/** A node's stats without its room list (the snapshot has the cluster's rooms on their own). */
function withoutRooms(stats: NodeStats): NodeStats {
  return { ...stats, rooms: [] };
}

function topClusterRooms(nodes: readonly NodeView[]): NonNullable<Snapshot['clusterRooms']> {
  const { count, isExact, rooms } = clusterRooms(nodes);
  return { count, isExact, rooms: rooms.slice(0, MAX_ROOMS) };
}

function memory(): { rssBytes: number; heapUsedBytes: number } {
  const usage = process.memoryUsage();
  return { rssBytes: usage.rss, heapUsedBytes: usage.heapUsed };
}

/** Named rooms with their local member counts (private rooms are never listed). */
export function roomSizes(source: Pick<OpsSource, 'adapter'>): RoomSize[] {
  const { adapter } = source;
  const names = adapter.roomNames?.() ?? [];
  return [...names].map((name) => ({ name, members: adapter.members(name).size }));
}

/** The few connections with the most waiting, ids cut short (a full id is a bearer credential). */
function deepestQueues(entries: Iterable<QueueEntry>): QueueEntry[] {
  const top: QueueEntry[] = [];
  let scanned = 0;
  for (const entry of entries) {
    if (++scanned > MAX_QUEUES_SCANNED) break;
    if (entry.queued === 0) continue;
    if (top.length === MAX_QUEUES && entry.queued <= (top[top.length - 1] as QueueEntry).queued) continue;
    top.push({ ...entry, id: redactSessionId(entry.id) });
    top.sort((a, b) => b.queued - a.queued);
    if (top.length > MAX_QUEUES) top.pop();
  }
  return top;
}

function cluster(source: OpsSource): Snapshot['cluster'] {
  const adapter = source.adapter as { serverName?: unknown; isForwarding?: unknown; constructor: { name: string } };
  const view: { adapter: string; serverName?: string; isForwarding?: boolean } = {
    adapter: adapter.constructor.name,
  };
  if (typeof adapter.serverName === 'string') view.serverName = adapter.serverName;
  if (typeof adapter.isForwarding === 'boolean') view.isForwarding = adapter.isForwarding;
  return view;
}
