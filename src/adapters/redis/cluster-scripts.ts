/**
 * The Lua scripts of the cluster store, each on the keys of one session (one hash slot), each
 * fenced by the owner: a node that is no longer a session's owner (another took it over while
 * this one was cut off) changes nothing of it. On a Redis Cluster a script runs on the shard
 * of its keys' slot; a script given keys of two slots is refused (CROSSSLOT, reported as
 * ERR_CROSS_SLOT), so every call names the keys of one session, or of one node's log; the membership scripts
 * each touch one room's key.
 */
import { Cluster, type Result } from 'ioredis';
import type { RedisClient } from './connections.js';

/**
 * KEYS record, frames · ARGV owner, ttlMs, through, n, then n × (seq, frame), then (node, log
 * id) pairs. Adds the frames and trims those through `through` (0: none) in one go, so that a
 * busy websocket session costs one call per message. 1 done, 0 another node owns the session,
 * -1 the record is gone.
 */
const APPEND = `
local owner = redis.call('HGET', KEYS[1], 'owner')
if not owner then return -1 end
if owner ~= ARGV[1] then return 0 end
if tonumber(ARGV[3]) > 0 then redis.call('XTRIM', KEYS[2], 'MINID', (tonumber(ARGV[3]) + 1) .. '-0') end
table.remove(ARGV, 3)
local n = tonumber(ARGV[3])
local last = 0
for i = 0, n - 1 do
  redis.call('XADD', KEYS[2], ARGV[4 + 2 * i] .. '-0', 'f', ARGV[5 + 2 * i])
  last = tonumber(ARGV[4 + 2 * i])
end
local fields = {'next', last + 1}
for i = 4 + 2 * n, #ARGV, 2 do
  fields[#fields + 1] = 'lp:' .. ARGV[i]
  fields[#fields + 1] = ARGV[i + 1]
end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1`;

/** KEYS record, frames · ARGV owner, through, then dropped seqs. Trims what the client has. */
const FORGET = `
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
if tonumber(ARGV[2]) > 0 then redis.call('XTRIM', KEYS[2], 'MINID', (tonumber(ARGV[2]) + 1) .. '-0') end
for i = 3, #ARGV do redis.call('XDEL', KEYS[2], ARGV[i] .. '-0') end
if redis.call('XLEN', KEYS[2]) == 0 then redis.call('DEL', KEYS[2]) end
return 1`;

/** KEYS record · ARGV owner, ttlMs, then field/value pairs. */
const UPDATE = `
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

/** KEYS record, frames · ARGV owner. The session ends: its keys go. */
const REMOVE = `
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
return 1`;

/**
 * KEYS record, frames · ARGV from, to, ttlMs. Takes the session over when `from` still owns
 * it, or no node does (its node let it go): its record (flat field/value list) and its
 * frames; nil when another node was first.
 */
const CLAIM = `
local owner = redis.call('HGET', KEYS[1], 'owner')
if not owner or (owner ~= ARGV[1] and owner ~= '') then return false end
redis.call('HSET', KEYS[1], 'owner', ARGV[2], 'lost', '1')
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return {redis.call('HGETALL', KEYS[1]), redis.call('XRANGE', KEYS[2], '-', '+')}`;

/**
 * KEYS log · ARGV log id, min id kept, envelope, channel, node, ttlMs, PUBLISH or SPUBLISH.
 * One fan-out: into the node's log (trimmed by age) and out to every node, atomically, so
 * that the log and what the nodes heard never disagree. SPUBLISH (sharded pub/sub) names the
 * node's own channel, in the log's slot: the script stays on one shard.
 */
const FANOUT = `
redis.call('XADD', KEYS[1], 'MINID', '~', ARGV[2], ARGV[1], 'e', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
local publish = ARGV[7] == 'SPUBLISH' and 'SPUBLISH' or 'PUBLISH'
redis.call(publish, ARGV[4], ARGV[5] .. '|' .. ARGV[1] .. '|' .. ARGV[3])
return 1`;

/**
 * KEYS a key of the slot to publish from · ARGV channel, message. A classic PUBLISH that a
 * Redis Cluster routes by a key's slot, so that every message of one sender goes through the
 * same shard, in order (a PUBLISH without a key would go to any shard, and Redis Cluster
 * forwards from each shard on its own link). Touches no key.
 */
const PUBLISH_VIA = `return redis.call('PUBLISH', ARGV[1], ARGV[2])`;

/**
 * KEYS room · ARGV member, ttlMs. A member joins a room of the cluster: 1 when it was not in
 * it (news: a presence join), 2 when the room had no member before (news, and a new room),
 * 0 when it was in it already (a session taken over by another node).
 */
const JOIN = `
local added = redis.call('SADD', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if added == 1 and redis.call('SCARD', KEYS[1]) == 1 then return 2 end
return added`;

/**
 * KEYS room · ARGV member. A member leaves a room of the cluster: 0 when it was not in it
 * (another node was first: no news), 1 when it left, 2 when it left and the room is empty.
 */
const LEAVE = `
if redis.call('SREM', KEYS[1], ARGV[1]) == 0 then return 0 end
if redis.call('SCARD', KEYS[1]) == 0 then return 2 end
return 1`;

/** KEYS log · ARGV entry, maxEntries, ttlMs. A room log keeps its newest entries, for ttlMs after the last. */
const LOG_APPEND = `
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    syAppend(record: string, frames: string, ...args: (string | number)[]): Result<number, Context>;
    syForget(record: string, frames: string, ...args: (string | number)[]): Result<number, Context>;
    syUpdate(record: string, ...args: (string | number)[]): Result<number, Context>;
    syRemove(record: string, frames: string, owner: string): Result<number, Context>;
    syClaim(
      record: string,
      frames: string,
      from: string,
      to: string,
      ttlMs: number,
    ): Result<[string[], Array<[string, string[]]>] | null, Context>;
    syFanOut(log: string, ...args: (string | number)[]): Result<number, Context>;
    syPublishVia(slotKey: string, channel: string, message: string): Result<number, Context>;
    syJoin(room: string, member: string, ttlMs: number): Result<number, Context>;
    syLeave(room: string, member: string): Result<number, Context>;
    syLogAppend(log: string, entry: string, maxEntries: number, ttlMs: number): Result<number, Context>;
  }
}

/** Teaches a connection the classic PUBLISH routed by a key (RedisAdapter on a Redis Cluster). */
export function definePublishVia(redis: RedisClient): void {
  redis.defineCommand('syPublishVia', { numberOfKeys: 1, lua: PUBLISH_VIA });
}

/**
 * A classic PUBLISH; on a Redis Cluster through the shard of `sender`'s slot (definePublishVia
 * first), so that one sender's messages keep their order.
 */
export function classicPublish(redis: RedisClient, channel: string, message: string, sender: string): Promise<number> {
  if (!(redis instanceof Cluster)) return redis.publish(channel, message);
  return redis.syPublishVia(`switchyard:sender:{${sender}}`, channel, message);
}

/** Teaches a connection the scripts (sent by SHA, loaded on first use). */
export function defineScripts(redis: RedisClient): void {
  redis.defineCommand('syAppend', { numberOfKeys: 2, lua: APPEND });
  redis.defineCommand('syForget', { numberOfKeys: 2, lua: FORGET });
  redis.defineCommand('syUpdate', { numberOfKeys: 1, lua: UPDATE });
  redis.defineCommand('syRemove', { numberOfKeys: 2, lua: REMOVE });
  redis.defineCommand('syClaim', { numberOfKeys: 2, lua: CLAIM });
  redis.defineCommand('syFanOut', { numberOfKeys: 1, lua: FANOUT });
  redis.defineCommand('syJoin', { numberOfKeys: 1, lua: JOIN });
  redis.defineCommand('syLeave', { numberOfKeys: 1, lua: LEAVE });
  redis.defineCommand('syLogAppend', { numberOfKeys: 1, lua: LOG_APPEND });
}
