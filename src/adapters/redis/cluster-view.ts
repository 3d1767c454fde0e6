/**
 * What one node sees of a cluster on Redis, for operators: every node listed in `<p>:nodes`
 * with the stats record it writes with each liveness round (`<p>:stats:{<node>}`, a small
 * JSON string with the same TTL as its liveness, so a dead node's lapses with it), and this
 * node's own standing (its link, how long ago it last wrote its liveness).
 *
 * Nothing is read until someone asks (an open dashboard, a scrape), and then at most once per
 * liveness round, however many ask: one HGETALL and, per node, a GET and an EXISTS, each on one
 * key (any slot of a Redis Cluster).
 */
import { hostname } from 'node:os';
import type { ClusterView, NodeStats, NodeView, NotReady } from '../../hub/cluster-view.js';
import type { ClusterKeys } from './cluster-keys.js';
import type { ResolvedRedisClusterOptions } from './cluster-options.js';
import type { NodeRegistry } from './node-registry.js';
import type { RedisLink } from './redis-link.js';

/** Format version of the stats record: a newer node reads an older one's. */
const STATS_FORMAT_VERSION = 1;

/** The stats record as stored. */
interface StatsRecord extends NodeStats {
  readonly v: number;
  readonly host: string;
  readonly pid: number;
  readonly startedAt: number;
}

export class RedisClusterView implements ClusterView {
  private readonly startedAt = Date.now();
  private readonly host = hostname();
  private read: { at: number; nodes: Promise<readonly NodeView[]> } | undefined;

  constructor(
    private readonly link: RedisLink,
    private readonly keys: ClusterKeys,
    private readonly registry: NodeRegistry,
    private readonly options: ResolvedRedisClusterOptions,
  ) {}

  get nodeId(): string {
    return this.options.nodeId;
  }

  setStatsSource(stats: () => NodeStats): void {
    this.registry.publishStats(() => {
      const record: StatsRecord = {
        v: STATS_FORMAT_VERSION,
        host: this.host,
        pid: process.pid,
        startedAt: this.startedAt,
        ...stats(),
      };
      return JSON.stringify(record);
    });
  }

  nodes(): Promise<readonly NodeView[]> {
    const now = Date.now();
    if (this.read === undefined || now - this.read.at >= this.registry.roundMs) {
      this.read = { at: now, nodes: this.readNodes() };
      // A failed read is not kept: the next question asks again.
      this.read.nodes.catch(() => (this.read = undefined));
    }
    return this.read.nodes;
  }

  notReady(): NotReady | undefined {
    if (!this.link.isUp) return { code: 'ERR_ADAPTER_UNAVAILABLE', reason: 'the link to the cluster’s Redis is down' };
    const writtenAt = this.registry.livenessWrittenAt;
    if (writtenAt === 0) return { code: 'ERR_NOT_READY', reason: 'this node has not joined the cluster yet' };
    const ageMs = Date.now() - writtenAt;
    const { nodeTtlMs } = this.options;
    // Redis answers nothing (frozen, or the link is half-open): as unreachable, to a balancer.
    if (ageMs >= nodeTtlMs) {
      const reason = `this node's liveness lapsed ${ageMs} ms ago: the cluster counts it as dead`;
      return { code: 'ERR_ADAPTER_UNAVAILABLE', reason };
    }
    // Two rounds missed: the cluster will count it dead unless the next write gets through.
    if (ageMs >= nodeTtlMs / 2) {
      return { code: 'ERR_NOT_READY', reason: `this node's liveness was last written ${ageMs} ms ago` };
    }
    return undefined;
  }

  private async readNodes(): Promise<readonly NodeView[]> {
    const redis = this.link.commands;
    const listed = await redis.hgetall(this.keys.nodes);
    const ids = Object.keys(listed).sort();
    const [stats, alive] = await Promise.all([
      Promise.all(ids.map((id) => redis.get(this.keys.stats(id)))),
      Promise.all(ids.map((id) => redis.exists(this.keys.alive(id)))),
    ]);
    return ids.map((nodeId, i) => {
      const record = statsOf(stats[i] ?? null);
      const info = infoOf(listed[nodeId]);
      return {
        nodeId,
        host: record?.host ?? '',
        pid: record?.pid ?? 0,
        startedAt: record?.startedAt ?? info.startedAt,
        seenAt: info.seenAt,
        isAlive: alive[i] === 1,
        isSelf: nodeId === this.nodeId,
        stats: record === undefined ? undefined : statsPart(record),
      };
    });
  }
}

function statsPart(record: StatsRecord): NodeStats {
  const { sessions, connections, messagesInPerSecond, messagesOutPerSecond, cpuRatio, rssBytes, roomCount, rooms } =
    record;
  return { sessions, connections, messagesInPerSecond, messagesOutPerSecond, cpuRatio, rssBytes, roomCount, rooms };
}

const NUMBERS = [
  'pid',
  'startedAt',
  'sessions',
  'connections',
  'messagesInPerSecond',
  'messagesOutPerSecond',
  'cpuRatio',
  'rssBytes',
  'roomCount',
] as const;

/** A stats record, or undefined when there is none or it is not one this node can read. */
function statsOf(json: string | null): StatsRecord | undefined {
  if (json === null) return undefined;
  try {
    const value = JSON.parse(json) as Partial<Record<string, unknown>>;
    if (typeof value.v !== 'number' || value.v < 1 || typeof value.host !== 'string') return undefined;
    for (const key of NUMBERS) if (typeof value[key] !== 'number') return undefined;
    if (!Array.isArray(value.rooms) || !value.rooms.every(isRoomEntry)) return undefined;
    return value as unknown as StatsRecord;
  } catch {
    // Not ours (another writer under the same prefix): shown without stats.
    return undefined;
  }
}

function isRoomEntry(entry: unknown): boolean {
  return Array.isArray(entry) && typeof entry[0] === 'string' && typeof entry[1] === 'number';
}

function infoOf(json: string | undefined): { startedAt: number; seenAt: number } {
  try {
    const info = JSON.parse(json ?? '{}') as { startedAt?: unknown; seenAt?: unknown };
    return {
      startedAt: typeof info.startedAt === 'number' ? info.startedAt : 0,
      seenAt: typeof info.seenAt === 'number' ? info.seenAt : 0,
    };
  } catch {
    // Not ours: a node of unknown age.
    return { startedAt: 0, seenAt: 0 };
  }
}
