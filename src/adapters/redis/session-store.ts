/**
 * The session store on Redis (hub/session-store.ts): each 0.6 session as a record and a
 * stream of its frames not known to have reached the client (keys in cluster-keys.ts), written
 * by its owner through owner-fenced scripts (cluster-scripts.ts); node liveness in
 * node-registry.ts; the relay's bus as one channel per node.
 *
 * Every key has a TTL (`recordTtlMs` past the last touch, refreshed by the owner while the
 * session lives) or is deleted when the session ends, so a cluster that dies whole leaves
 * nothing behind for long. A command that fails is reported once per outage; an append that
 * fails lets its frames go out all the same ('unavailable').
 */
import { RealtimeError } from '../../errors.js';
import { SESSION_FORMAT_VERSION } from '../../hub/session-store.js';
import type {
  AppendResult,
  BusMessage,
  ClaimedSession,
  LogPositions,
  NodeBus,
  SessionChange,
  SessionDescriptor,
  SessionLocation,
  SessionRecord,
  SessionStore,
  StoredFrames,
} from '../../hub/session-store.js';
import type { ClusterKeys } from './cluster-keys.js';
import { askRedis, parseRooms } from './cluster-queries.js';
import type { ResolvedRedisClusterOptions } from './cluster-options.js';
import type { NodeRegistry } from './node-registry.js';
import type { RedisLink } from './redis-link.js';

export class RedisSessionStore implements SessionStore {
  readonly bus: NodeBus;

  constructor(
    private readonly link: RedisLink,
    private readonly keys: ClusterKeys,
    private readonly nodes: NodeRegistry,
    private readonly options: ResolvedRedisClusterOptions,
  ) {
    this.bus = new RedisBus(link, keys, options.nodeId);
  }

  get nodeId(): string {
    return this.options.nodeId;
  }

  get touchEveryMs(): number {
    return Math.max(250, Math.floor(this.options.recordTtlMs / 3));
  }

  get deathDetectionMs(): number {
    // The liveness key lapses after nodeTtlMs; every node looks four times as often.
    return Math.ceil(this.options.nodeTtlMs * 1.5);
  }

  async save(record: SessionRecord): Promise<boolean> {
    const key = this.keys.record(record.sessionId);
    const redis = this.link.commands;
    try {
      await Promise.all([
        redis.hset(key, fieldsOf(record)),
        redis.pexpire(key, this.options.recordTtlMs),
        redis.sadd(this.keys.owned(record.owner), record.sessionId),
      ]);
      return true;
    } catch (error) {
      this.link.failed('saving a session', error);
      return false;
    }
  }

  async append(sessionId: string, frames: StoredFrames, positions?: LogPositions, through = 0): Promise<AppendResult> {
    const args: (string | number)[] = [this.nodeId, this.options.recordTtlMs, through, frames.seqs.length];
    frames.seqs.forEach((seq, i) => args.push(seq, frames.frames[i] as string));
    for (const [node, id] of Object.entries(positions ?? {})) args.push(node, id);
    try {
      const result = await this.link.commands.syAppend(
        this.keys.record(sessionId),
        this.keys.frames(sessionId),
        ...args,
      );
      return result === 0 ? 'not-owner' : result === 1 ? 'durable' : 'unavailable';
    } catch (error) {
      this.link.failed('keeping frames', error);
      return 'unavailable';
    }
  }

  forget(sessionId: string, through: number, dropped: readonly number[] = []): void {
    const { record, frames } = this.sessionKeys(sessionId);
    this.link.commands
      .syForget(record, frames, this.nodeId, through, ...dropped)
      .catch((error: unknown) => this.link.failed('trimming frames', error));
  }

  update(sessionId: string, change: SessionChange): void {
    const pairs = Object.entries(fieldsOf(change)).flat();
    if (pairs.length === 0) return;
    this.link.commands
      .syUpdate(this.keys.record(sessionId), this.nodeId, this.options.recordTtlMs, ...pairs)
      .catch((error: unknown) => this.link.failed('updating a session', error));
  }

  remove(sessionId: string): void {
    const { record, frames } = this.sessionKeys(sessionId);
    const redis = this.link.commands;
    Promise.all([
      redis.syRemove(record, frames, this.nodeId),
      redis.srem(this.keys.owned(this.nodeId), sessionId),
    ]).catch((error: unknown) => this.link.failed('removing a session', error));
  }

  release(sessionId: string, windowMs: number): void {
    const redis = this.link.commands;
    Promise.all([
      redis.syUpdate(this.keys.record(sessionId), this.nodeId, this.options.recordTtlMs, 'owner', '', 'lost', '1'),
      // Not taken over within its window, it ends: a live node leaves its rooms then (cluster-membership.ts).
      redis.zadd(this.keys.released, Date.now() + windowMs, sessionId),
    ]).catch((error: unknown) => this.link.failed('letting a session go', error));
  }

  /** One HMGET (and, for an owner this node has not seen alive, one EXISTS), bounded by queryTimeoutMs. */
  async describe(sessionId: string): Promise<SessionDescriptor | null> {
    const redis = this.link.commands;
    const fields = ['owner', 'tr', 'rooms', 'data', 'lost', 'at'] as const;
    const [owner, transport, rooms, data, lost, openedAt] = await askRedis(this.link, this.options.queryTimeoutMs, () =>
      redis.hmget(this.keys.record(sessionId), ...fields),
    );
    if (owner === null || owner === undefined) return null;
    const isOwnerAlive = owner !== '' && (await this.isAlive(owner));
    return {
      id: sessionId,
      nodeId: owner,
      transport: transport ?? 'xhr-polling',
      rooms: parseRooms(rooms),
      ...(data === null || data === undefined || data === '' ? {} : { data: parseJson(data, undefined) }),
      connected: isOwnerAlive && lost !== '1',
      openedAt: Number(openedAt) || 0,
    };
  }

  touch(sessionIds: readonly string[]): void {
    const redis = this.link.commands;
    const ttl = this.options.recordTtlMs;
    // One command per key, not a pipeline: on a Redis Cluster the sessions' keys live on every
    // shard, and a pipeline must stay on one. Auto-pipelining batches them per connection.
    const touched = sessionIds.flatMap((sessionId) => [
      redis.pexpire(this.keys.record(sessionId), ttl),
      redis.pexpire(this.keys.frames(sessionId), ttl),
    ]);
    touched.push(redis.pexpire(this.keys.owned(this.nodeId), ttl));
    Promise.all(touched).catch((error: unknown) => this.link.failed('touching sessions', error));
  }

  async find(sessionId: string): Promise<SessionLocation | null> {
    const redis = this.link.commands;
    try {
      const [owner, lost, openedAt] = await redis.hmget(this.keys.record(sessionId), 'owner', 'lost', 'at');
      if (owner === null || owner === undefined) return null;
      // Let go by its node ('' : a graceful shutdown): it may be taken over at once.
      let isOwnerAlive = owner === '' ? false : this.nodes.isAlive(owner);
      // A node this one has not looked at yet (it joined a moment ago): ask Redis.
      isOwnerAlive ??= (await redis.exists(this.keys.alive(owner))) === 1;
      return { owner, isOwnerAlive, isLost: lost === '1', openedAt: Number(openedAt) || 0 };
    } catch (error) {
      this.link.failed('finding a session', error);
      throw new RealtimeError('ERR_ADAPTER_UNAVAILABLE', 'the session store cannot be reached; try again', {
        cause: error,
      });
    }
  }

  async claim(sessionId: string, fromNode: string): Promise<ClaimedSession | null> {
    const { record, frames } = this.sessionKeys(sessionId);
    const redis = this.link.commands;
    try {
      const claimed = await redis.syClaim(record, frames, fromNode, this.nodeId, this.options.recordTtlMs);
      if (claimed === null) return null;
      await Promise.all([
        redis.sadd(this.keys.owned(this.nodeId), sessionId),
        redis.srem(this.keys.owned(fromNode), sessionId),
      ]);
      return claimedOf(sessionId, claimed[0], claimed[1]);
    } catch (error) {
      this.link.failed('taking a session over', error);
      return null;
    }
  }

  async isAlive(nodeId: string): Promise<boolean> {
    const seen = this.nodes.isAlive(nodeId);
    if (seen !== undefined) return seen;
    try {
      return (await this.link.commands.exists(this.keys.alive(nodeId))) === 1;
    } catch (error) {
      this.link.failed('asking for a node', error);
      return true;
    }
  }

  async ownedBy(nodeId: string): Promise<string[]> {
    try {
      return await this.link.commands.smembers(this.keys.owned(nodeId));
    } catch (error) {
      this.link.failed('listing sessions', error);
      return [];
    }
  }

  onNodeDown(listener: (nodeId: string) => void): void {
    this.nodes.onNodeDown(listener);
  }

  onStoreLost(listener: () => void): void {
    this.nodes.onStoreLost(listener);
  }

  private sessionKeys(sessionId: string): { record: string; frames: string } {
    return { record: this.keys.record(sessionId), frames: this.keys.frames(sessionId) };
  }
}

/** The relay's bus: one channel per node; a message to a node nobody listens for is gone. */
class RedisBus implements NodeBus {
  private listener: (message: BusMessage) => void = () => undefined;

  constructor(
    private readonly link: RedisLink,
    private readonly keys: ClusterKeys,
    nodeId: string,
  ) {
    link.on(keys.bus(nodeId), (payload) => this.receive(payload));
  }

  send(nodeId: string, message: BusMessage): void {
    this.link
      .publish(this.keys.bus(nodeId), JSON.stringify(message))
      .catch((error: unknown) => this.link.failed('relaying to another node', error));
  }

  onMessage(listener: (message: BusMessage) => void): void {
    this.listener = listener;
  }

  private receive(payload: string): void {
    let message: unknown;
    try {
      message = JSON.parse(payload);
    } catch {
      // Only nodes publish on a bus channel; anything else is noise, and is dropped.
      return;
    }
    if (typeof message === 'object' && message !== null) this.listener(message as BusMessage);
  }
}

/** A record (or a change of one) as hash fields; JSON for rooms and data. */
function fieldsOf(record: Partial<SessionRecord>): Record<string, string> {
  const fields: Record<string, string> = {};
  if (record.sessionId !== undefined) fields.v = String(SESSION_FORMAT_VERSION);
  if (record.owner !== undefined) fields.owner = record.owner;
  if (record.transport !== undefined) fields.tr = record.transport;
  if (record.remoteAddress !== undefined) fields.addr = record.remoteAddress;
  if (record.origin !== undefined) fields.origin = record.origin;
  if (record.openedAt !== undefined) fields.at = String(record.openedAt);
  if (record.nextSeq !== undefined) fields.next = String(record.nextSeq);
  if (record.isLost !== undefined) fields.lost = record.isLost ? '1' : '0';
  if (record.rooms !== undefined) fields.rooms = JSON.stringify(record.rooms);
  if ('data' in record) fields.data = record.data === undefined ? '' : JSON.stringify(record.data);
  for (const [node, id] of Object.entries(record.logPositions ?? {})) fields[`lp:${node}`] = id;
  return fields;
}

/** A claimed session from its hash fields (a flat list) and stream entries. */
function claimedOf(sessionId: string, flat: string[], entries: Array<[string, string[]]>): ClaimedSession {
  const fields = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) fields.set(flat[i] as string, flat[i + 1] as string);
  const logPositions: Record<string, string> = {};
  for (const [name, value] of fields) if (name.startsWith('lp:')) logPositions[name.slice(3)] = value;
  const frames: string[] = [];
  const seqs: number[] = [];
  for (const [id, values] of entries) {
    seqs.push(Number(id.split('-', 1)[0]));
    frames.push(values[values.indexOf('f') + 1] ?? '');
  }
  const origin = fields.get('origin');
  const data = fields.get('data');
  return {
    sessionId,
    owner: fields.get('owner') ?? '',
    transport: fields.get('tr') ?? 'xhr-polling',
    remoteAddress: fields.get('addr') ?? '',
    ...(origin === undefined ? {} : { origin }),
    openedAt: Number(fields.get('at')) || Date.now(),
    nextSeq: Number(fields.get('next')) || (seqs.length > 0 ? (seqs[seqs.length - 1] as number) + 1 : 1),
    isLost: true,
    rooms: parseJson(fields.get('rooms'), []) as string[],
    ...(data === undefined || data === '' ? {} : { data: parseJson(data, undefined) }),
    logPositions,
    frames: { frames, seqs },
  };
}

function parseJson(text: string | undefined, fallback: unknown): unknown {
  if (text === undefined) return fallback;
  try {
    return JSON.parse(text);
  } catch {
    // Only owners write these fields, as JSON; a value that does not parse is treated as absent.
    return fallback;
  }
}
