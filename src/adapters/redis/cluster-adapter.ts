/**
 * Fan-out in a cluster with durable sessions. Membership stays local (a composed
 * MemoryAdapter), as with RedisAdapter; what differs is that every fan-out is also an entry
 * in its node's log, so that a session taken over from a dead node gets what it missed:
 *
 *   fanOut ──► id = <ms>-<n> (this node's, increasing)
 *     ├──► local.fanOut (message.logPosition = {node, id}) ──► members here; a 0.6 session
 *     │      journals the frame with its position (session/journal.ts)
 *     └──► one script: XADD <p>:log:{node} id (trimmed by age) + PUBLISH <p>:fanout node|id|envelope
 *          (sharded pub/sub: SPUBLISH <p>:fanout:{node}, in the log's slot, so the script stays on one shard)
 *   <p>:fanout message from another node ──► decode ──► local.fanOut (its position) ──► members here
 *     (sharded: every node subscribes to the channel of every node listed in <p>:nodes)
 *   a session taken over ──► for each node's log: the entries after the session's position
 *     for that node (from before its old node died) that target it, in order, then what
 *     arrived meanwhile
 *
 * Positions are per origin node, so each node numbers its own log without asking Redis, and
 * a node delivers its own fan-out at once: a session's frames from one origin are in that
 * origin's order, which is all fan-out ever promised across nodes.
 */
import { RealtimeError } from '../../errors.js';
import {
  MemoryAdapter,
  privateRoom,
  PRIVATE_ROOM_PREFIX,
  type Adapter,
  type AdoptedMember,
  type FanOutReport,
  type FanOutTarget,
} from '../../hub/adapter.js';
import type { Member } from '../../hub/member.js';
import type { MembershipQueries, PresenceEvent, RemovalReason, RoomLog } from '../../hub/membership.js';
import type { PreparedMessage } from '../../hub/prepared.js';
import type { ClusterKeys } from './cluster-keys.js';
import { ClusterMembership } from './cluster-membership.js';
import { ClusterQueries, ClusterRoomLog } from './cluster-queries.js';
import type { ResolvedRedisClusterOptions } from './cluster-options.js';
import { messageOf } from './connections.js';
import { decodeEnvelope, encodeEnvelope, type ForwardedMessage } from './envelope.js';
import { FanOutChannels } from './fan-out-channels.js';
import type { RedisLink } from './redis-link.js';

/** What went through the adapter since it was made. */
export interface ClusterAdapterStats {
  published: number;
  publishDropped: number;
  received: number;
  malformed: number;
  /** Entries given to sessions taken over from dead nodes. */
  recovered: number;
}

/** One entry of a node's log, decoded. */
interface LogEntry {
  readonly node: string;
  readonly id: string;
  readonly forwarded: ForwardedMessage;
}

export class ClusterAdapter implements Adapter {
  readonly stats: ClusterAdapterStats = { published: 0, publishDropped: 0, received: 0, malformed: 0, recovered: 0 };
  /** Rooms of the whole cluster and presence, written as this node's members join and leave. */
  readonly membership: ClusterMembership;
  /** The cluster-wide questions, answered from what `membership` writes. */
  readonly queries: MembershipQueries;
  /** Room logs every node shares (the chat demo's history). */
  readonly roomLog: RoomLog;
  private readonly local = new MemoryAdapter();
  private lastMs = 0;
  private lastN = 0;
  private readonly channels: FanOutChannels;

  constructor(
    private readonly link: RedisLink,
    private readonly keys: ClusterKeys,
    private readonly options: ResolvedRedisClusterOptions,
  ) {
    this.channels = new FanOutChannels(link, keys, options, (payload) => this.onRemote(payload));
    this.membership = new ClusterMembership(link, keys, options, this.local);
    // A session being restored is held in a stand-in: presence names the session itself.
    const unwrap = (member: Member): Member => (member instanceof HoldingMember ? member.inner : member);
    this.local.observe({
      joined: (member, room) => this.membership.joined(unwrap(member), room),
      left: (member, room, reason) => this.membership.left(unwrap(member), room, reason),
    });
    this.queries = new ClusterQueries(link, keys, options, this.local);
    this.roomLog = new ClusterRoomLog(link, keys, options);
  }

  onPresence(listener: (event: PresenceEvent) => void): void {
    this.membership.onPresence(listener);
  }

  /** Once the link is up: subscribes to the fan-out (fan-out-channels.ts). */
  start(): Promise<void> {
    return this.channels.start();
  }

  /** The nodes listed in the cluster now (sharded pub/sub follows each one's channel). */
  follow(nodeIds: readonly string[]): void {
    this.channels.follow(nodeIds);
  }

  /** Resolves once the other live nodes hear this one (sharded pub/sub), bounded. */
  heard(othersAlive: number): Promise<void> {
    return this.channels.heard(othersAlive);
  }

  /** True while this node's link to Redis is up: fan-out and the relay reach the other nodes. */
  get isForwarding(): boolean {
    return this.link.isUp;
  }

  /** This node's id in the cluster. */
  get serverName(): string {
    return this.options.nodeId;
  }

  setErrorReporter(report: (error: Error) => void): void {
    this.link.setReporter(report);
  }

  get size(): number {
    return this.local.size;
  }

  addMember(member: Member): void {
    this.local.addMember(member);
  }

  removeMember(id: string, reason?: RemovalReason): void {
    this.local.removeMember(id, reason);
  }

  join(id: string, room: string): boolean {
    return this.local.join(id, room);
  }

  leave(id: string, room: string): boolean {
    return this.local.leave(id, room);
  }

  rooms(id: string): ReadonlySet<string> {
    return this.local.rooms(id);
  }

  members(room: string): ReadonlySet<string> {
    return this.local.members(room);
  }

  /** Named rooms with a member on this node (the dashboard, `switchyard_rooms`, the node's stats). */
  roomNames(): Iterable<string> {
    return this.local.roomNames();
  }

  fanOut(message: PreparedMessage, target: FanOutTarget): FanOutReport {
    const id = this.nextId();
    message.logPosition = { node: this.options.nodeId, id };
    const report = this.local.fanOut(message, target);
    if (this.shouldPublish(target)) this.publish(id, message, target);
    return report;
  }

  /**
   * A session taken over from a node that died: held while what it missed is read from every
   * node's log, given that first, then what arrived meanwhile (each entry once).
   */
  async adopt(member: Member, adopted: AdoptedMember): Promise<void> {
    const holding = new HoldingMember(member);
    this.local.addMember(holding);
    for (const room of adopted.rooms) this.local.join(member.id, room);
    const applied = new Map(Object.entries(adopted.logPositions));
    try {
      const missed = await this.missed(member.id, adopted, applied);
      for (const entry of missed) {
        entry.forwarded.message.logPosition = { node: entry.node, id: entry.id };
        member.deliver(entry.forwarded.message);
        applied.set(entry.node, entry.id);
        this.stats.recovered++;
      }
    } catch (error) {
      this.link.report(
        new RealtimeError(
          'ERR_ADAPTER_UNAVAILABLE',
          `a session taken over may have missed messages: ${messageOf(error)}`,
        ),
      );
    }
    holding.release((message) => {
      const position = message.logPosition;
      return position === undefined || compareIds(position.id, applied.get(position.node)) > 0;
    });
  }

  ready(): Promise<void> {
    return Promise.resolve();
  }

  async close(): Promise<void> {
    this.membership.stop();
    await this.local.close();
  }

  // ── Internals ─────────────────────────────────────────────────────────────────────────

  /** This node's next log id: `<ms>-<n>`, increasing even if the clock steps back. */
  private nextId(): string {
    const now = Date.now();
    if (now > this.lastMs) {
      this.lastMs = now;
      this.lastN = 0;
    } else {
      this.lastN++;
    }
    return `${this.lastMs}-${this.lastN}`;
  }

  /** Not when no room is targeted, nor for a socketcast to a member of this node. */
  private shouldPublish(target: FanOutTarget): boolean {
    const rooms = target.rooms;
    if (rooms === undefined) return true;
    if (rooms.length === 0) return false;
    return !rooms.every((room) => room.startsWith(PRIVATE_ROOM_PREFIX) && this.local.members(room).size > 0);
  }

  private publish(id: string, message: PreparedMessage, target: FanOutTarget): void {
    let json: string;
    try {
      json = encodeEnvelope(message, target, this.options.nodeId).json;
    } catch (error) {
      // A value without a JSON form: the local members refused it too.
      this.stats.publishDropped++;
      this.link.report(
        error instanceof RealtimeError ? error : new RealtimeError('ERR_INVALID_MESSAGE', messageOf(error)),
      );
      return;
    }
    if (Buffer.byteLength(json) > this.options.maxEnvelopeBytes) {
      this.stats.publishDropped++;
      this.link.report(
        new RealtimeError('ERR_ADAPTER_UNAVAILABLE', `an envelope over maxEnvelopeBytes was not forwarded`),
      );
      return;
    }
    const { nodeId, fanOutLogRetentionMs } = this.options;
    const minId = `${Math.max(0, Date.now() - fanOutLogRetentionMs)}-0`;
    const channel = this.channels.publishedOn(nodeId);
    const ttlMs = fanOutLogRetentionMs * 2;
    this.link.commands
      .syFanOut(this.keys.log(nodeId), id, minId, json, channel, nodeId, ttlMs, this.link.publishCommand)
      .then(
        () => this.stats.published++,
        (error: unknown) => {
          this.stats.publishDropped++;
          this.link.failed('forwarding a message', error);
        },
      );
  }

  private onRemote(payload: string): void {
    const entry = parseEntry(payload, this.options.maxJsonDepth);
    if (entry === null) {
      this.stats.malformed++;
      this.link.report(new RealtimeError('ERR_MALFORMED_FRAME', 'dropped a malformed fan-out message'));
      return;
    }
    if (entry.node === this.options.nodeId) return;
    this.stats.received++;
    const { message, target } = entry.forwarded;
    message.logPosition = { node: entry.node, id: entry.id };
    // A throw must not escape into ioredis' event emitter, where it would end the process.
    try {
      this.local.fanOut(message, target);
    } catch (cause) {
      this.link.report(
        new RealtimeError('ERR_HANDLER_FAILED', 'a forwarded message could not be delivered', { cause }),
      );
    }
  }

  /** Every node's log entries that `id` missed: after its position there, targeting it, in time order. */
  private async missed(id: string, adopted: AdoptedMember, applied: Map<string, string>): Promise<LogEntry[]> {
    const redis = this.link.commands;
    const origins = new Set([...Object.keys(await redis.hgetall(this.keys.nodes)), ...applied.keys()]);
    const rooms = new Set([...adopted.rooms, privateRoom(id)]);
    const entries: LogEntry[] = [];
    for (const node of origins) {
      const from = applied.get(node) ?? `${adopted.openedAt}-0`;
      const raw = await redis.xrange(this.keys.log(node), `(${from}`, '+');
      for (const [entryId, fields] of raw) {
        const forwarded = parseEnvelope(fields[fields.indexOf('e') + 1] ?? '', this.options.maxJsonDepth);
        if (forwarded === null || !targets(forwarded, id, rooms)) continue;
        entries.push({ node, id: entryId, forwarded });
      }
    }
    return entries.sort((a, b) => compareIds(a.id, b.id));
  }
}

/** A member being restored: what fan-out brings it waits until what it missed went first. */
class HoldingMember implements Member {
  private held: PreparedMessage[] | null = [];

  constructor(private readonly member: Member) {}

  get id(): string {
    return this.member.id;
  }

  /** The member it stands in for. */
  get inner(): Member {
    return this.member;
  }

  deliver(message: PreparedMessage) {
    if (this.held === null) return this.member.deliver(message);
    this.held.push(message);
    return { ok: true as const };
  }

  roomsChanged(rooms: ReadonlySet<string>): void {
    this.member.roomsChanged?.(rooms);
  }

  get outlivesNode(): boolean | undefined {
    return this.member.outlivesNode;
  }

  /** Delivers what was held (those `isNew` accepts: not already given from the log), then passes through. */
  release(isNew: (message: PreparedMessage) => boolean): void {
    const held = this.held ?? [];
    this.held = null;
    for (const message of held) if (isNew(message)) this.member.deliver(message);
  }
}

/** Whether a forwarded fan-out reaches member `id` (in `rooms`: its rooms and its private room). */
function targets(forwarded: ForwardedMessage, id: string, rooms: ReadonlySet<string>): boolean {
  const { target } = forwarded;
  if (target.except?.has(id) === true) return false;
  return target.rooms === undefined || target.rooms.some((room) => rooms.has(room));
}

/** `<node>|<id>|<envelope>` from the fan-out channel, or null. */
function parseEntry(payload: string, maxJsonDepth: number): LogEntry | null {
  const first = payload.indexOf('|');
  const second = payload.indexOf('|', first + 1);
  if (first <= 0 || second <= first) return null;
  const forwarded = parseEnvelope(payload.slice(second + 1), maxJsonDepth);
  if (forwarded === null) return null;
  return { node: payload.slice(0, first), id: payload.slice(first + 1, second), forwarded };
}

function parseEnvelope(json: string, maxJsonDepth: number): ForwardedMessage | null {
  // Broadcast or roomcast: the envelope says which by whether it names a room.
  const kind = json.includes('"r":') ? 'roomcasts' : 'broadcasts';
  const decoded = decodeEnvelope(json, kind, maxJsonDepth);
  return decoded.ok ? decoded.value : null;
}

/** Orders stream ids `<ms>-<n>`; a missing one is before everything. */
function compareIds(a: string, b: string | undefined): number {
  if (b === undefined) return 1;
  const [aMs = 0, aN = 0] = a.split('-').map(Number);
  const [bMs = 0, bN = 0] = b.split('-').map(Number);
  return aMs === bMs ? aN - bN : aMs - bMs;
}
