/**
 * The nodes of a cluster and their liveness. Every node keeps a key `<p>:alive:<node>` that
 * expires after `nodeTtlMs` and refreshes it every quarter of that; it also looks at every
 * other node's key as often. A node whose key is gone is dead: each live node reports it once
 * (its sessions are taken over: one claim per session wins). A dead node stays listed, so
 * that every node hears of it, until its log and records can no longer matter.
 *
 * The same round checks the epoch: a key set once per Redis. If it is gone, Redis came back
 * empty (no persistence): every session it held is lost, and the node says so.
 */
import { nanoid } from 'nanoid';
import type { ClusterKeys } from './cluster-keys.js';
import type { ResolvedRedisClusterOptions } from './cluster-options.js';
import type { RedisLink } from './redis-link.js';

interface NodeInfo {
  readonly startedAt: number;
  readonly seenAt: number;
}

export class NodeRegistry {
  private readonly alive = new Set<string>();
  private readonly dead = new Set<string>();
  private readonly downListeners: Array<(nodeId: string) => void> = [];
  private readonly lostListeners: Array<() => void> = [];
  private readonly listedListeners: Array<(nodeIds: readonly string[]) => void> = [];
  private readonly startedAt = Date.now();
  private epoch = '';
  private timer: NodeJS.Timeout | undefined;
  private isTicking = false;
  /** This node's stats record (JSON), written with its liveness; none until a view asks. */
  private statsRecord: (() => string) | undefined;
  /** When this node's liveness was last written (0: never), and how often it had lapsed by then. */
  private writtenAt = 0;
  private lapses = 0;

  constructor(
    private readonly link: RedisLink,
    private readonly keys: ClusterKeys,
    private readonly options: ResolvedRedisClusterOptions,
  ) {}

  get nodeId(): string {
    return this.options.nodeId;
  }

  onNodeDown(listener: (nodeId: string) => void): void {
    this.downListeners.push(listener);
  }

  onStoreLost(listener: () => void): void {
    this.lostListeners.push(listener);
  }

  /** Every node listed (alive or dead, not yet forgotten), this one included, after each look. */
  onNodesListed(listener: (nodeIds: readonly string[]) => void): void {
    this.listedListeners.push(listener);
  }

  /** The live nodes other than this one, as of the last look. */
  get othersAlive(): number {
    return this.alive.size;
  }

  /** This node's last view: whether `nodeId`'s liveness key was there. */
  isAlive(nodeId: string): boolean | undefined {
    if (nodeId === this.nodeId) return true;
    if (this.dead.has(nodeId)) return false;
    return this.alive.has(nodeId) ? true : undefined;
  }

  /** Publishes `record()` with every liveness round (cluster-view.ts). */
  publishStats(record: () => string): void {
    this.statsRecord = record;
  }

  /** When this node's liveness was last written (ms since the epoch; 0 before it joined). */
  get livenessWrittenAt(): number {
    return this.writtenAt;
  }

  /** How many times this node's liveness had lapsed (the others counted it dead) before it wrote it again. */
  get livenessLapses(): number {
    return this.lapses;
  }

  /** The pause between two liveness rounds. */
  get roundMs(): number {
    return Math.max(25, Math.floor(this.options.nodeTtlMs / 4));
  }

  /** Registers this node (its first liveness) and starts the rounds. */
  async join(): Promise<void> {
    const redis = this.link.commands;
    await redis.set(this.keys.epoch, nanoid(), 'NX');
    this.epoch = (await redis.get(this.keys.epoch)) ?? '';
    await this.refresh();
    await this.look();
    this.timer = setInterval(() => void this.tick(), this.roundMs);
    this.timer.unref();
  }

  /** Leaves the cluster gracefully: its liveness goes at once (its sessions have ended). */
  async leave(): Promise<void> {
    clearInterval(this.timer);
    const redis = this.link.commands;
    await Promise.all([
      redis.del(this.keys.alive(this.nodeId)),
      redis.del(this.keys.stats(this.nodeId)),
      redis.hdel(this.keys.nodes, this.nodeId),
    ]).catch(() => undefined);
  }

  /** Stops the rounds without a word (the node is going away as if it died: tests). */
  stop(): void {
    clearInterval(this.timer);
  }

  private async tick(): Promise<void> {
    if (this.isTicking) return;
    this.isTicking = true;
    try {
      await this.refresh();
      await this.checkEpoch();
      await this.look();
    } catch (error) {
      this.link.failed('the liveness round', error);
    } finally {
      this.isTicking = false;
    }
  }

  private async refresh(): Promise<void> {
    const info: NodeInfo = { startedAt: this.startedAt, seenAt: Date.now() };
    const redis = this.link.commands;
    const stats = this.statsRecord?.();
    const ttlMs = this.options.nodeTtlMs;
    await Promise.all([
      redis.set(this.keys.alive(this.nodeId), String(info.seenAt), 'PX', ttlMs),
      redis.hset(this.keys.nodes, this.nodeId, JSON.stringify(info)),
      stats === undefined ? undefined : redis.set(this.keys.stats(this.nodeId), stats, 'PX', ttlMs),
    ]);
    // Written after the key had lapsed: the others may have counted this node dead meanwhile.
    if (this.writtenAt > 0 && info.seenAt - this.writtenAt >= ttlMs) this.lapses++;
    this.writtenAt = info.seenAt;
  }

  private async checkEpoch(): Promise<void> {
    const redis = this.link.commands;
    const epoch = await redis.get(this.keys.epoch);
    if (epoch === this.epoch) return;
    // Gone (Redis came back empty) or set anew by a node that saw it gone first.
    if (epoch === null) await redis.set(this.keys.epoch, nanoid(), 'NX');
    this.epoch = (await redis.get(this.keys.epoch)) ?? '';
    for (const listener of this.lostListeners) listener();
  }

  /** Looks at every other node's liveness; reports the newly dead, forgets the long dead. */
  private async look(): Promise<void> {
    const redis = this.link.commands;
    const listed = await redis.hgetall(this.keys.nodes);
    for (const listener of this.listedListeners) listener(Object.keys(listed));
    const others = Object.keys(listed).filter((id) => id !== this.nodeId);
    if (others.length === 0) return;
    const exists = await Promise.all(others.map((id) => redis.exists(this.keys.alive(id))));
    const forgetAfterMs = Math.max(this.options.fanOutLogRetentionMs, this.options.recordTtlMs);
    others.forEach((id, i) => {
      if (exists[i] === 1) {
        this.alive.add(id);
        this.dead.delete(id);
        return;
      }
      this.alive.delete(id);
      if (!this.dead.has(id)) {
        this.dead.add(id);
        for (const listener of this.downListeners) listener(id);
      }
      const seenAt = seenAtOf(listed[id]);
      if (Date.now() - seenAt > forgetAfterMs)
        void redis.hdel(this.keys.nodes, id).then(() => redis.del(this.keys.owned(id)));
    });
  }
}

function seenAtOf(json: string | undefined): number {
  try {
    const info = JSON.parse(json ?? '{}') as Partial<NodeInfo>;
    return typeof info.seenAt === 'number' ? info.seenAt : 0;
  } catch {
    // A value that is not ours: treat the node as long gone.
    return 0;
  }
}
