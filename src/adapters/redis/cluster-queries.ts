/**
 * The cluster-wide questions (hub/membership.ts `MembershipQueries`), answered from what the
 * nodes write to Redis as their members join and leave (cluster-membership.ts):
 *
 *   membersOf(room)   SMEMBERS <p>:r:{room}                one command
 *   countOf(room)     SCARD    <p>:r:{room}                one command
 *   isInRoom(id, r)   SISMEMBER <p>:r:{r} id               one command (none for a member here)
 *   roomsOf(id)       HGET <p>:s:{id} rooms ‖ HGET <p>:m:{id} rooms   two, side by side (none here)
 *   roomCount()       ZCARD <p>:rooms                      one command
 *
 * Each is one round trip, each command on one key. This node's own members are answered from
 * its own room model (it writes their rooms, so it is their truth). Every answer is bounded by
 * `queryTimeoutMs` (`ERR_QUERY_TIMEOUT`) and refused at once while Redis is unreachable
 * (`ERR_ADAPTER_UNAVAILABLE`) rather than queued in ioredis' offline queue.
 */
import { RealtimeError } from '../../errors.js';
import { privateRoom, PRIVATE_ROOM_PREFIX, type MemoryAdapter } from '../../hub/adapter.js';
import type { MembershipQueries, RoomLog } from '../../hub/membership.js';
import type { ClusterKeys } from './cluster-keys.js';
import type { ResolvedRedisClusterOptions } from './cluster-options.js';
import type { RedisLink } from './redis-link.js';

export class ClusterQueries implements MembershipQueries {
  constructor(
    private readonly link: RedisLink,
    private readonly keys: ClusterKeys,
    private readonly options: ResolvedRedisClusterOptions,
    private readonly local: MemoryAdapter,
  ) {}

  async roomsOf(id: string): Promise<string[]> {
    const here = this.local.rooms(id);
    if (here.size > 0) return [...here];
    const rooms = await this.remoteRooms(id);
    return rooms === null ? [] : [privateRoom(id), ...rooms];
  }

  async isInRoom(id: string, room: string): Promise<boolean> {
    const here = this.local.rooms(id);
    if (here.size > 0) return here.has(room);
    if (room === privateRoom(id)) return (await this.remoteRooms(id)) !== null;
    if (room.startsWith(PRIVATE_ROOM_PREFIX)) return false;
    return (await this.ask(() => this.link.commands.sismember(this.keys.room(room), id))) === 1;
  }

  async membersOf(room: string): Promise<string[]> {
    if (room.startsWith(PRIVATE_ROOM_PREFIX)) return this.privateMembers(room);
    return this.ask(() => this.link.commands.smembers(this.keys.room(room)));
  }

  async countOf(room: string): Promise<number> {
    if (room.startsWith(PRIVATE_ROOM_PREFIX)) return (await this.privateMembers(room)).length;
    return this.ask(() => this.link.commands.scard(this.keys.room(room)));
  }

  roomCount(): Promise<number> {
    return this.ask(() => this.link.commands.zcard(this.keys.rooms));
  }

  /** The named rooms of a member of another node: from its session record, or its member record. */
  private async remoteRooms(id: string): Promise<string[] | null> {
    const redis = this.link.commands;
    const [session, other] = await this.ask(() =>
      Promise.all([redis.hget(this.keys.record(id), 'rooms'), redis.hget(this.keys.member(id), 'rooms')]),
    );
    const json = session ?? other;
    return json === null ? null : parseRooms(json);
  }

  /** A private room has one member, its owner, wherever it is. */
  private async privateMembers(room: string): Promise<string[]> {
    const id = room.slice(PRIVATE_ROOM_PREFIX.length);
    return (await this.roomsOf(id)).length > 0 ? [id] : [];
  }

  private ask<T>(query: () => Promise<T>): Promise<T> {
    return askRedis(this.link, this.options.queryTimeoutMs, query);
  }
}

/** How long a room log outlives its last entry. */
const ROOM_LOG_TTL_MS = 24 * 60 * 60 * 1000;

/** Room logs in Redis: one list per room, appended to by one script (one key), read by LRANGE. */
export class ClusterRoomLog implements RoomLog {
  constructor(
    private readonly link: RedisLink,
    private readonly keys: ClusterKeys,
    private readonly options: ResolvedRedisClusterOptions,
  ) {}

  async append(room: string, entry: string, maxEntries: number): Promise<void> {
    const log = this.keys.roomLog(room);
    await askRedis(this.link, this.options.queryTimeoutMs, () =>
      this.link.commands.syLogAppend(log, entry, maxEntries, ROOM_LOG_TTL_MS),
    );
  }

  read(room: string): Promise<string[]> {
    return askRedis(this.link, this.options.queryTimeoutMs, () =>
      this.link.commands.lrange(this.keys.roomLog(room), 0, -1),
    );
  }
}

/**
 * One cluster query: refused at once while Redis is unreachable (no waiting in ioredis'
 * offline queue), rejected with `ERR_QUERY_TIMEOUT` after `timeoutMs`, and any failure of
 * Redis is `ERR_ADAPTER_UNAVAILABLE`.
 */
export async function askRedis<T>(link: RedisLink, timeoutMs: number, query: () => Promise<T>): Promise<T> {
  if (!link.isUp)
    throw new RealtimeError('ERR_ADAPTER_UNAVAILABLE', 'Redis is unreachable: the cluster cannot be asked now');
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new RealtimeError('ERR_QUERY_TIMEOUT', `a cluster query had no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  const answer = query().catch((cause: unknown) => {
    throw new RealtimeError('ERR_ADAPTER_UNAVAILABLE', 'a cluster query failed', { cause });
  });
  try {
    return await Promise.race([answer, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** A rooms field (JSON list) as written by the nodes; anything else is no rooms. */
export function parseRooms(json: string | null | undefined): string[] {
  if (json === null || json === undefined || json === '') return [];
  try {
    const rooms: unknown = JSON.parse(json);
    return Array.isArray(rooms) ? rooms.filter((room): room is string => typeof room === 'string') : [];
  } catch {
    // Only nodes write these fields, as JSON; anything else is treated as no rooms.
    return [];
  }
}
