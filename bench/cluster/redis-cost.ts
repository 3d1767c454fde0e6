/**
 * What cluster sessions cost Redis, measured on a real redis-server with two nodes in this
 * process (`npm run bench` runs it as scenario F; `tsx bench/cluster/redis-cost.ts` alone):
 *
 * - Redis commands per delivered message, for long-polling and websocket sessions, from
 *   `INFO commandstats` before and after a run of broadcasts (a script counts as its calls);
 * - Redis memory per idle session (`INFO memory` used_memory, before and after), with no frame
 *   waiting and with ten;
 * - takeover: from a node's death to its long-polling client's next answer on another node, at
 *   the default `nodeTtlMs`.
 *
 * Prints one JSON line (`{"type":"cluster-cost", …}`) and a small table.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { WebSocket } from 'ws';
import { redisCluster, type RedisClusterBackend } from '../../src/adapters/redis/cluster.js';
import { createServer, type Switchyard } from '../../src/server.js';

const SESSIONS = Number(process.env.BENCH_CLUSTER_SESSIONS ?? 50);
const BROADCASTS = Number(process.env.BENCH_CLUSTER_BROADCASTS ?? 200);
const IDLE_SESSIONS = Number(process.env.BENCH_CLUSTER_IDLE ?? 1000);

interface Node {
  readonly server: Switchyard;
  readonly backend: RedisClusterBackend;
  readonly url: string;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function startRedis(): Promise<{ url: string; child: ChildProcess; dir: string }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-redis-'));
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    {
      stdio: 'ignore',
    },
  );
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => 50 });
  probe.on('error', () => undefined);
  for (let i = 0; i < 100; i++) {
    try {
      await probe.connect();
      await probe.ping();
      break;
    } catch {
      // Not up yet: it binds within a few tens of ms.
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  probe.disconnect();
  return { url, child, dir };
}

async function startNode(redisUrl: string, keyPrefix: string, nodeTtlMs?: number): Promise<Node> {
  const backend = redisCluster({ url: redisUrl, keyPrefix, ...(nodeTtlMs === undefined ? {} : { nodeTtlMs }) });
  const server = createServer({
    cluster: backend,
    flashPolicyPort: false,
    heartbeatIntervalMs: 0,
    maxConnectionsPerAddress: 0,
  });
  server.on('error', () => undefined);
  const url = await server.listen({ port: 0, host: '127.0.0.1' });
  return { server, backend, url };
}

/**
 * Commands the nodes send (a script counts once), counted where they leave: every ioredis
 * client of a node is named `switchyard:…`.
 */
let sentCommands = 0;
const sendCommand = Redis.prototype.sendCommand;
Redis.prototype.sendCommand = function countedSend(this: Redis, ...args: Parameters<typeof sendCommand>) {
  if (this.options.connectionName?.startsWith('switchyard:') === true) sentCommands++;
  return sendCommand.apply(this, args);
};

/** Commands Redis executed so far, those inside scripts included. */
async function executedCommands(redis: Redis): Promise<number> {
  const info = await redis.info('stats');
  return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? 0);
}

interface Cost {
  /** Commands the nodes sent, per delivered message. */
  readonly sent: number;
  /** Commands Redis executed (inside scripts too), per delivered message. */
  readonly executed: number;
}

async function costOf(redis: Redis, run: () => Promise<number>): Promise<Cost> {
  const sentBefore = sentCommands;
  const executedBefore = await executedCommands(redis);
  const delivered = await run();
  const executed = (await executedCommands(redis)) - executedBefore - 2;
  return { sent: (sentCommands - sentBefore) / delivered, executed: executed / delivered };
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

/** A long-polling client with one cookie jar entry per session: it polls until it has `count` messages. */
class Poller {
  sessionId = '';
  cookie = '';
  received = 0;

  constructor(private readonly baseUrl: string) {}

  async handshake(): Promise<void> {
    const res = await fetch(`${this.baseUrl}/socket.io/xhr-polling//${Date.now()}`, { headers: this.headers() });
    this.keepCookie(res);
    const body = await res.text();
    this.sessionId = /~m~\d+~m~([\w-]+)/.exec(body)?.[1] ?? '';
  }

  async pollUntil(count: number, deadline: number, baseUrls: readonly string[]): Promise<void> {
    let i = 0;
    while (this.received < count && Date.now() < deadline) {
      const base = baseUrls[i++ % baseUrls.length] as string;
      const res = await fetch(`${base}/socket.io/xhr-polling/${this.sessionId}/${Date.now()}`, {
        headers: this.headers(),
      });
      this.keepCookie(res);
      const body = await res.text();
      this.received += (body.match(/~m~/g)?.length ?? 0) / 2;
    }
  }

  private headers(): Record<string, string> {
    return this.cookie === '' ? {} : { Cookie: this.cookie };
  }

  private keepCookie(res: Response): void {
    const set = res.headers.getSetCookie()[0];
    if (set !== undefined) this.cookie = set.split(';', 1)[0] as string;
  }
}

async function pollingCost(a: Node, b: Node, redis: Redis): Promise<Cost> {
  const pollers = Array.from({ length: SESSIONS }, (_, i) => new Poller(i % 2 === 0 ? a.url : b.url));
  await Promise.all(pollers.map((poller) => poller.handshake()));
  return costOf(redis, async () => {
    const deadline = Date.now() + 60_000;
    const polling = pollers.map((poller) => poller.pollUntil(BROADCASTS, deadline, [a.url, b.url]));
    for (let i = 0; i < BROADCASTS; i++) {
      a.server.broadcast(`m${i}`);
      if (i % 10 === 9) await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(polling);
    return pollers.reduce((sum, poller) => sum + poller.received, 0);
  });
}

async function websocketCost(a: Node, b: Node, redis: Redis): Promise<Cost> {
  let received = 0;
  const sockets = await Promise.all(
    Array.from(
      { length: SESSIONS },
      (_, i) =>
        new Promise<WebSocket>((resolve) => {
          const ws = new WebSocket(`${(i % 2 === 0 ? a.url : b.url).replace('http', 'ws')}/socket.io/websocket`);
          ws.once('message', () => {
            // One websocket message may carry several frames (`~m~len~m~…` each).
            ws.on('message', (data) => (received += (data.toString().match(/~m~/g)?.length ?? 0) / 2));
            resolve(ws);
          });
        }),
    ),
  );
  const cost = await costOf(redis, async () => {
    for (let i = 0; i < BROADCASTS; i++) {
      a.server.broadcast(`w${i}`);
      if (i % 10 === 9) await new Promise((resolve) => setImmediate(resolve));
    }
    const deadline = Date.now() + 60_000;
    while (received < SESSIONS * BROADCASTS && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    // The last trims ride with no append: they go a moment later.
    await new Promise((resolve) => setTimeout(resolve, 400));
    return received;
  });
  for (const ws of sockets) ws.close();
  return cost;
}

async function idleMemory(a: Node, redis: Redis, queued: number): Promise<number> {
  const before = await usedMemory(redis);
  const pollers = Array.from({ length: IDLE_SESSIONS }, () => new Poller(a.url));
  for (let i = 0; i < pollers.length; i += 100) await Promise.all(pollers.slice(i, i + 100).map((p) => p.handshake()));
  for (let i = 0; i < queued; i++) {
    for (const poller of pollers) a.server.getConn(poller.sessionId)?.send(`queued message ${i}`);
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  const perSession = ((await usedMemory(redis)) - before) / IDLE_SESSIONS;
  for (const poller of pollers) a.server.getConn(poller.sessionId)?.close();
  await new Promise((resolve) => setTimeout(resolve, 500));
  return perSession;
}

/** ms from a node's death (default nodeTtlMs) to its polling client's next answer through another node. */
async function takeoverMs(redisUrl: string): Promise<number> {
  const a = await startNode(redisUrl, 'takeover');
  const b = await startNode(redisUrl, 'takeover');
  const poller = new Poller(a.url);
  await poller.handshake();
  a.server.getConn(poller.sessionId)?.send('kept');
  await new Promise((resolve) => setTimeout(resolve, 100));
  const diedAt = Date.now();
  await a.backend.vanish();
  a.server.httpServer?.closeAllConnections();
  await poller.pollUntil(1, Date.now() + 30_000, [b.url]);
  const elapsed = Date.now() - diedAt;
  await b.server.close();
  await a.server.httpServer?.close();
  return elapsed;
}

async function main(): Promise<void> {
  const redisServer = await startRedis();
  const redis = new Redis(redisServer.url);
  try {
    const a = await startNode(redisServer.url, 'cost');
    const b = await startNode(redisServer.url, 'cost');
    const pollOps = await pollingCost(a, b, redis);
    const wsOps = await websocketCost(a, b, redis);
    const idleBytes = await idleMemory(a, redis, 0);
    const queuedBytes = await idleMemory(a, redis, 10);
    await Promise.all([a.server.close(), b.server.close()]);
    const takeover = await takeoverMs(redisServer.url);
    const figures = { pollOps, wsOps, idleBytes, queuedBytes, takeover };
    console.log(JSON.stringify({ type: 'cluster-cost', ...figures }));
    const both = (cost: Cost) => `${cost.sent.toFixed(2)} sent, ${cost.executed.toFixed(2)} executed`;
    console.log(
      [
        '| Redis, per… | figure |',
        '| --- | ---: |',
        `| commands per delivered message, long-polling (${SESSIONS} sessions × ${BROADCASTS} broadcasts, 2 nodes, every request alternating) | ${both(pollOps)} |`,
        `| commands per delivered message, websocket | ${both(wsOps)} |`,
        `| memory per idle session, nothing waiting (${IDLE_SESSIONS} sessions) | ${(idleBytes / 1024).toFixed(2)} KiB |`,
        `| memory per idle session, ten frames waiting | ${(queuedBytes / 1024).toFixed(2)} KiB |`,
        `| takeover: node death to its client's next answer (nodeTtlMs 2000) | ${takeover} ms |`,
      ].join('\n'),
    );
  } finally {
    redis.disconnect();
    redisServer.child.kill('SIGKILL');
    rmSync(redisServer.dir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
