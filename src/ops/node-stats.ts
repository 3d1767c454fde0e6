/**
 * This node's stats record for the cluster (hub/cluster-view.ts): what it holds and how busy it
 * is, read once per liveness round. Message rates and CPU are per second since the last read,
 * from the same counters the metrics and the dashboard read. And the cluster's rooms as the
 * nodes' records tell them (`clusterRooms`).
 */
import { MAX_PUBLISHED_ROOMS, type NodeStats, type NodeView } from '../hub/cluster-view.js';
import { FAMILIES, type OpsCounters } from './counters.js';

/** A named room and its members (here, or summed over the cluster's nodes). */
export interface RoomSize {
  readonly name: string;
  readonly members: number;
}

export class NodeStatsMeter {
  private at = performance.now();
  private received = 0;
  private sent = 0;
  private cpu = process.cpuUsage();

  constructor(
    private readonly counters: OpsCounters,
    private readonly localRooms: () => RoomSize[],
  ) {}

  /** The record now; the rates cover the time since the previous call. */
  read(): NodeStats {
    const c = this.counters;
    const now = performance.now();
    const seconds = Math.max(0.001, (now - this.at) / 1000);
    const received = sumOf(c.receivedTotal);
    const sent = sumOf(c.sentTotal);
    const cpu = process.cpuUsage(this.cpu);
    const stats: NodeStats = {
      sessions: c.openIn('socketio06'),
      connections: FAMILIES.reduce((total, family) => total + c.openIn(family), 0),
      messagesInPerSecond: round((received - this.received) / seconds),
      messagesOutPerSecond: round((sent - this.sent) / seconds),
      // cpuUsage is in microseconds.
      cpuRatio: round((cpu.user + cpu.system) / 1e6 / seconds),
      rssBytes: process.memoryUsage.rss(),
      ...this.rooms(),
    };
    this.at = now;
    this.received = received;
    this.sent = sent;
    this.cpu = process.cpuUsage();
    return stats;
  }

  /** The largest rooms first, at most MAX_PUBLISHED_ROOMS: the record stays small whatever the app does. */
  private rooms(): Pick<NodeStats, 'roomCount' | 'rooms'> {
    const all = this.localRooms();
    const largest = all.sort((a, b) => b.members - a.members || a.name.localeCompare(b.name));
    return {
      roomCount: all.length,
      rooms: largest.slice(0, MAX_PUBLISHED_ROOMS).map(({ name, members }) => [name, members] as const),
    };
  }
}

/** What the live nodes' records say of the cluster's named rooms. */
export interface ClusterRooms {
  /** Every room some live node listed, with its members summed over the nodes, largest first. */
  readonly rooms: RoomSize[];
  /**
   * Distinct named rooms across the cluster: exact while no node has more than
   * MAX_PUBLISHED_ROOMS; past that a lower bound (`isExact` false).
   */
  readonly count: number;
  readonly isExact: boolean;
}

export function clusterRooms(nodes: readonly NodeView[]): ClusterRooms {
  const members = new Map<string, number>();
  let isExact = true;
  let largestNode = 0;
  for (const node of nodes) {
    if (!node.isAlive || node.stats === undefined) continue;
    const { rooms, roomCount } = node.stats;
    if (roomCount > rooms.length) isExact = false;
    largestNode = Math.max(largestNode, roomCount);
    for (const [name, count] of rooms) members.set(name, (members.get(name) ?? 0) + count);
  }
  const rooms = [...members].map(([name, count]) => ({ name, members: count }));
  rooms.sort((a, b) => b.members - a.members || a.name.localeCompare(b.name));
  // A node's own count is exact: the union is at least as large as the largest node's.
  return { rooms, count: Math.max(rooms.length, largestNode), isExact };
}

function sumOf(table: Record<string, number>): number {
  let total = 0;
  for (const value of Object.values(table)) total += value;
  return total;
}

/** Two decimals are plenty for a dashboard and keep the record short. */
function round(value: number): number {
  return Math.round(value * 100) / 100;
}
