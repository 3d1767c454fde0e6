/**
 * What a cluster-wide query costs, against the synchronous local answer: two nodes in this
 * process on a redis-server of this run's own (`tsx bench/cluster/queries.ts`).
 *
 * MEMBERS members (plain fan-out members added through `server.addMember`, half on each node)
 * in ROOMS rooms; then, per query, CALLS calls one after another (latency: µs per call) and
 * CALLS calls with CONCURRENCY in flight (µs per call when many handlers ask at once, as per
 * message), and the Redis commands each costs (`INFO commandstats`, summed over every command,
 * before and after; a script counts as its calls). Also what one join and one leave write.
 * Prints one JSON line (`{"type":"cluster-queries", …}`) and a table. Figures are indicative:
 * the machine is shared, and Redis runs on loopback.
 */
import { Redis } from 'ioredis';
import { redisCluster } from '../../src/adapters/redis/cluster.js';
import type { Member } from '../../src/hub/member.js';
import { createServer, type Switchyard } from '../../src/server.js';
import { startRedisServer } from '../../test/helpers/redis-server.js';

const MEMBERS = Number(process.env.BENCH_QUERY_MEMBERS ?? 1_000);
const ROOMS = Number(process.env.BENCH_QUERY_ROOMS ?? 10);
const CALLS = Number(process.env.BENCH_QUERY_CALLS ?? 5_000);
const CONCURRENCY = Number(process.env.BENCH_QUERY_CONCURRENCY ?? 64);

/** A member that takes every message and does nothing with it. */
function member(id: string): Member {
  return { id, deliver: () => ({ ok: true }) as ReturnType<Member['deliver']> };
}

async function commandCount(redis: Redis): Promise<number> {
  const stats = await redis.info('commandstats');
  let calls = 0;
  for (const match of stats.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) {
    if (match[1] !== 'info') calls += Number(match[2]);
  }
  return calls;
}

interface Row {
  readonly query: string;
  readonly sequentialUs: number;
  readonly concurrentUs: number;
  readonly commandsPerCall: number;
}

/** `calls` calls of `query`, one after another and then `CONCURRENCY` at a time. */
async function measure(name: string, redis: Redis, query: (i: number) => Promise<unknown> | unknown): Promise<Row> {
  for (let i = 0; i < 200; i++) await query(i); // warm-up
  const before = await commandCount(redis);
  let started = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) await query(i);
  const sequentialUs = Number(process.hrtime.bigint() - started) / 1_000 / CALLS;
  const afterSequential = await commandCount(redis);
  started = process.hrtime.bigint();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < CALLS) await query(next++);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const concurrentUs = Number(process.hrtime.bigint() - started) / 1_000 / CALLS;
  // INFO itself is not counted; the nodes' own rounds (liveness, touches) add a little.
  const commandsPerCall = (afterSequential - before) / CALLS;
  return { query: name, sequentialUs, concurrentUs, commandsPerCall };
}

async function main(): Promise<void> {
  const redisServer = await startRedisServer();
  const redis = new Redis(redisServer.url);
  const servers: Switchyard[] = [];
  try {
    for (let n = 0; n < 2; n++) {
      const server = createServer({ flashPolicyPort: false, cluster: redisCluster({ url: redisServer.url }) });
      await server.listen({ port: 0, host: '127.0.0.1' });
      servers.push(server);
    }
    const [a, b] = servers as [Switchyard, Switchyard];
    const ids: string[] = [];
    const joinsBefore = await commandCount(redis);
    for (let i = 0; i < MEMBERS; i++) {
      const id = `m${i}`;
      ids.push(id);
      const server = i % 2 === 0 ? a : b;
      server.addMember(member(id));
      server.join(id, `room-${i % ROOMS}`);
    }
    // Every join's writes have landed once the last member is counted.
    while ((await a.fetchMemberCount(`room-${(MEMBERS - 1) % ROOMS}`)) < MEMBERS / ROOMS) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const joinCommands = (await commandCount(redis)) - joinsBefore;
    const remote = (i: number) => ids[(2 * i + 1) % MEMBERS] as string; // b's members, asked on a
    const rows = [
      await measure('local members(room).size (sync)', redis, (i) => a.adapter.members(`room-${i % ROOMS}`).size),
      await measure('fetchMemberCount(room)', redis, (i) => a.fetchMemberCount(`room-${i % ROOMS}`)),
      await measure(`fetchMembers(room) [${MEMBERS / ROOMS} ids]`, redis, (i) => a.fetchMembers(`room-${i % ROOMS}`)),
      await measure('fetchInRoom(remote member, room)', redis, (i) => a.fetchInRoom(remote(i), 'room-1')),
      await measure('fetchRooms(remote member)', redis, (i) => a.fetchRooms(remote(i))),
      await measure('fetchRoomCount()', redis, () => a.fetchRoomCount()),
    ];
    const result = {
      type: 'cluster-queries',
      members: MEMBERS,
      rooms: ROOMS,
      calls: CALLS,
      concurrency: CONCURRENCY,
      commandsPerJoin: joinCommands / MEMBERS,
      rows,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    console.log(`\n${MEMBERS} members in ${ROOMS} rooms on 2 nodes; ${CALLS} calls per query`);
    console.log(
      `Redis commands per join (both its writes, the member record included): ${result.commandsPerJoin.toFixed(2)}`,
    );
    console.log('query                                   µs/call seq   µs/call ×' + CONCURRENCY + '   Redis cmds/call');
    for (const row of rows) {
      console.log(
        `${row.query.padEnd(40)}${row.sequentialUs.toFixed(1).padStart(11)}${row.concurrentUs.toFixed(1).padStart(14)}${row.commandsPerCall.toFixed(2).padStart(18)}`,
      );
    }
  } finally {
    await Promise.all(servers.map((server) => server.close()));
    redis.disconnect();
    await redisServer.stop();
  }
}

await main();
