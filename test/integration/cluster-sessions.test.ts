/**
 * Cluster sessions with a real redis-server, and again with a real Redis Cluster of three
 * shards (test/helpers/redis-cluster.ts), and several nodes in this process: any node
 * serves any request of any 0.6 session (polls, sends and resumes alternate between nodes),
 * fan-out reaches every node's sessions, and a node that vanishes has its sessions taken over
 * with their queue, rooms and data — the client keeps its session id. (Separate processes
 * behind HAProxy, killed for real, are in test/cluster/.)
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { redisCluster, type RedisClusterBackend } from '../../src/adapters/redis/cluster.js';
import type { Conn, ResumeInfo } from '../../src/session/conn.js';
import { ClusterSessions } from '../../src/session/cluster-sessions.js';
import type { DisconnectInfo } from '../../src/hub/results.js';
import { JarPollClient, jarWebSocket } from '../helpers/jar-poll.js';
import { CookieJar } from '../helpers/cookie-jar.js';
import { WebSocket } from 'ws';
import { decode, encodeFrame } from '../../src/codecs/sio.js';
import type { PubSubMode } from '../../src/adapters/redis/cluster-options.js';
import { REDIS_BACKENDS, type RedisBackend } from '../helpers/redis-cluster.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';

interface Node extends StartedServer {
  readonly backend: RedisClusterBackend;
  readonly closed: DisconnectInfo[];
  readonly errors: string[];
  readonly resumed: Array<{ conn: Conn; info: ResumeInfo }>;
  readonly received: Array<{ sessionId: string; data: unknown }>;
}

const texts = (answer: { messages: Array<{ type: string; data: unknown }> }) =>
  answer.messages.filter((m) => m.type === 'text').map((m) => m.data);

/** Each backend with the default pub/sub (sharded on the Redis Cluster), and the Redis Cluster with classic pub/sub. */
const BACKENDS: Array<(typeof REDIS_BACKENDS)[number] & { pubSub: PubSubMode }> = [
  ...REDIS_BACKENDS.map((backend) => ({ ...backend, pubSub: 'auto' as const })),
  { ...REDIS_BACKENDS[1]!, name: `${REDIS_BACKENDS[1]!.name}, classic pub/sub`, pubSub: 'classic' },
];

describe.each(BACKENDS)('cluster sessions on $name', ({ start, isSingle, pubSub }) => {
  let redis: RedisBackend;
  let nodes: Node[] = [];
  let prefix = 0;

  beforeAll(async () => {
    redis = await start();
  }, 60_000);
  afterAll(async () => {
    await redis.stop();
  });
  afterEach(async () => {
    await Promise.all(nodes.map((node) => node.close().catch(() => undefined)));
    // Every command and script kept to one hash slot (a Redis Cluster would refuse another).
    expect(nodes.flatMap((node) => node.errors)).not.toContain('ERR_CROSS_SLOT');
    nodes = [];
  });

  async function startNodes(count: number): Promise<Node[]> {
    const keyPrefix = `t${++prefix}`;
    nodes = await Promise.all(
      Array.from({ length: count }, async () => {
        const backend = redisCluster({ url: redis.url, keyPrefix, pubSub, nodeTtlMs: 400, maxReconnectDelayMs: 100 });
        const resumed: Node['resumed'] = [];
        const received: Node['received'] = [];
        const closed: DisconnectInfo[] = [];
        const errors: string[] = [];
        const started = await startServer(
          {
            cluster: backend,
            heartbeatIntervalMs: 0,
            pollDurationMs: 1_000,
            reconnectWindowMs: 5_000,
            drainTimeoutMs: 500,
          },
          (server) => {
            server.on('resume', (conn, info) => void resumed.push({ conn, info }));
            server.onDisconnect((_conn, info) => void closed.push(info));
            server.on('error', (error) => void errors.push((error as { code?: string }).code ?? error.message));
            server.onMessage((conn, data) => {
              received.push({ sessionId: conn.sessionId, data });
              conn.send(`echo:${String(data)}`);
            });
          },
        );
        return { ...started, backend, resumed, received, closed, errors };
      }),
    );
    return nodes;
  }

  it('serves polls and sends of a session on any node, in order, with its echo from the owner', async () => {
    const [a, b] = await startNodes(2);
    const onA = new JarPollClient(a!.baseUrl);
    await onA.handshake();
    const sessionId = onA.sessionId;
    const onB = new JarPollClient(b!.baseUrl, onA.jar);
    onB.sessionId = sessionId;
    expect(await onB.send('one')).toBe(200);
    expect(await onA.send('two')).toBe(200);
    expect(a!.received.map((r) => r.data)).toEqual(['one', 'two']);
    expect(b!.received).toEqual([]);
    const first = await onB.poll();
    expect(texts(first)).toEqual(['echo:one', 'echo:two']);
    a!.server.getConn(sessionId)!.send('three');
    expect(texts(await onB.poll())).toEqual(['three']);
  });

  it('a broadcast from any node reaches the sessions of every node', async () => {
    const [a, b] = await startNodes(2);
    const onA = new JarPollClient(a!.baseUrl);
    const onB = new JarPollClient(b!.baseUrl);
    await Promise.all([onA.handshake(), onB.handshake()]);
    expect(b!.server.broadcast('hello all').delivered).toBe(1);
    const [answerA, answerB] = await Promise.all([onA.poll(), onB.poll()]);
    expect(texts(answerA)).toEqual(['hello all']);
    expect(texts(answerB)).toEqual(['hello all']);
  });

  it('a handshake with the cookie resumes a lost session through another node', async () => {
    const [a, b] = await startNodes(2);
    const client = new JarPollClient(a!.baseUrl);
    await client.handshake();
    const sessionId = client.sessionId;
    const conn = a!.server.getConn(sessionId)!;
    await client.abandonedPoll(100);
    await waitFor(() => conn.isResumable);
    conn.send('queued on a');
    const viaB = new JarPollClient(b!.baseUrl, client.jar);
    const answer = await viaB.handshake();
    expect(viaB.sessionId).toBe(sessionId);
    expect(texts(answer)).toEqual(['queued on a']);
    expect(a!.resumed.map((r) => r.info.adopted)).toEqual([false]);
  });

  it('takes the sessions of a node that vanished over: same session id, queue, rooms and data', async () => {
    const [a, b] = await startNodes(2);
    const client = new JarPollClient(a!.baseUrl);
    await client.handshake();
    const sessionId = client.sessionId;
    const conn = a!.server.getConn(sessionId)!;
    a!.server.join(conn, 'lobby');
    conn.data = { user: 'ada' };
    conn.send('before');
    // A frame is the store's once its append is done: only then may a crash not lose it.
    const store = redis.connect();
    await waitFor(async () => (await store.xlen(a!.backend.options.keyPrefix + `:f:{${sessionId}}`)) === 1);
    await waitFor(
      async () => (await store.hget(a!.backend.options.keyPrefix + `:s:{${sessionId}}`, 'rooms')) === '["lobby"]',
    );
    store.disconnect();
    // Node a dies: no liveness, no Redis, no sockets.
    await a!.backend.vanish();
    a!.server.httpServer?.closeAllConnections();
    const viaB = new JarPollClient(b!.baseUrl, client.jar);
    viaB.sessionId = sessionId;
    const answer = await viaB.poll();
    expect(texts(answer)).toEqual(['before']);
    const adopted = b!.server.getConn(sessionId)!;
    expect(adopted.data).toEqual({ user: 'ada' });
    expect(b!.server.inRoom(adopted, 'lobby')).toBe(true);
    expect(b!.resumed.map((r) => r.info)).toEqual([expect.objectContaining({ adopted: true, replayedMessages: 1 })]);
    // A roomcast made while it was being taken over, and after, arrives.
    b!.server.to('lobby').send('in the lobby');
    expect(texts(await viaB.poll())).toEqual(['in the lobby']);
  });

  it('a lookup that meets its own node’s claim, which another node beat, finds the session at the winner', async () => {
    const [a, b, c] = await startNodes(3);
    const client = new JarPollClient(a!.baseUrl);
    await client.handshake();
    const { sessionId } = client;
    await a!.backend.vanish();
    // Takeovers as b's and c's sweeps make them after a's death: b's claim wins, and c's is
    // still in flight when a handshake on c asks where the session is (its cookie names it).
    const hooks = { onAdopted: async () => undefined, reportError: () => undefined };
    const onB = new ClusterSessions(b!.backend.store, b!.server.registry, hooks);
    const onC = new ClusterSessions(c!.backend.store, c!.server.registry, hooks);
    try {
      expect((await onB.adopt(sessionId, a!.backend.nodeId))?.sessionId).toBe(sessionId);
      const claim = onC.adopt(sessionId, a!.backend.nodeId);
      const where = onC.locate(sessionId);
      expect(await claim).toBeNull();
      // Not "nowhere": that made the handshake start a new session and the client lose its own.
      expect(await where).toBe(b!.backend.nodeId);
    } finally {
      onB.close();
      onC.close();
    }
  });

  it('websocket: after its node vanished, the client’s reconnect with the cookie resumes the session on another node', async () => {
    const [a, b] = await startNodes(2);
    const jar = new CookieJar();
    const before = await jarWebSocket(a!.wsUrl, jar);
    const conn = a!.server.getConn(before.sessionId)!;
    conn.send('kept');
    // A frame goes out only once the store has it: once the client has it, a crash cannot lose it.
    await waitFor(() => before.texts.length === 1);
    await a!.backend.vanish();
    a!.server.httpServer?.closeAllConnections();
    before.ws.terminate();
    conn.send('while down');
    const after = await jarWebSocket(b!.wsUrl, jar);
    expect(after.sessionId).toBe(before.sessionId);
    b!.server.getConn(after.sessionId)!.send('on b');
    await waitFor(() => after.texts.includes('on b'));
    expect(b!.resumed.map((r) => r.info.adopted)).toEqual([true]);
    after.ws.close();
  });

  it('relays a websocket that re-attaches through a node that does not own the session', async () => {
    const [a, b] = await startNodes(2);
    const onA = new JarPollClient(a!.baseUrl);
    await onA.handshake();
    const ws = new WebSocket(`${b!.wsUrl}/socket.io/websocket/${onA.sessionId}`);
    const received: string[] = [];
    ws.on('message', (data) => {
      const decoded = decode(data.toString());
      if (decoded.ok) for (const m of decoded.value) if (m.type === 'text') received.push(m.data);
    });
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(encodeFrame('through b'));
    await waitFor(() => received.includes('echo:through b'));
    expect(a!.received.map((r) => r.data)).toEqual(['through b']);
    a!.server.getConn(onA.sessionId)!.send('from a');
    await waitFor(() => received.includes('from a'));
    ws.close();
  });

  it('a node shutting down hands its sessions off: their clients resume them on another node, nothing lost', async () => {
    const [a, b] = await startNodes(2);
    let disconnectsOnA = 0;
    a!.server.onDisconnect(() => void disconnectsOnA++);
    const polling = new JarPollClient(a!.baseUrl);
    await polling.handshake();
    const jar = new CookieJar();
    const socket = await jarWebSocket(a!.wsUrl, jar);
    for (const conn of [a!.server.getConn(polling.sessionId)!, a!.server.getConn(socket.sessionId)!]) {
      conn.send('queued before the shutdown');
    }
    await waitFor(() => socket.texts.length === 1);
    const closedWith = new Promise<number>((resolve) => socket.ws.once('close', resolve));
    await a!.close();
    expect(await closedWith).toBe(1001);
    expect(disconnectsOnA).toBe(0);
    const pollViaB = new JarPollClient(b!.baseUrl, polling.jar);
    const answer = await pollViaB.handshake();
    expect(pollViaB.sessionId).toBe(polling.sessionId);
    expect(texts(answer)).toEqual(['queued before the shutdown']);
    const socketViaB = await jarWebSocket(b!.wsUrl, jar);
    expect(socketViaB.sessionId).toBe(socket.sessionId);
    expect(b!.resumed.map((r) => r.info.adopted)).toEqual([true, true]);
    socketViaB.ws.close();
  });

  // One redis-server that restarts empty (a Redis Cluster losing a shard: docs/cluster.md).
  if (!isSingle) return;
  it('Redis restarting empty: no crash, nodes serve on, the cluster sessions end as lost, then it works again', async () => {
    const single = redis.single!;
    const [a, b] = await startNodes(2);
    const polling = new JarPollClient(a!.baseUrl);
    await polling.handshake();
    const jar = new CookieJar();
    const socket = await jarWebSocket(b!.wsUrl, jar);
    await single.kill();
    await waitFor(() => !a!.backend.isUp && !b!.backend.isUp, { what: 'both nodes to see Redis gone' });
    // Meanwhile every node serves its own sessions, and new ones.
    a!.server.getConn(polling.sessionId)!.send('while Redis is down');
    expect(texts(await polling.poll())).toEqual(['while Redis is down']);
    const local = new JarPollClient(b!.baseUrl);
    await local.handshake();
    expect(b!.server.getConn(local.sessionId)).toBeDefined();
    await single.restart();
    // Back empty: what the cluster held is gone, and every node says so and ends its sessions.
    await waitFor(() => a!.closed.length >= 1 && b!.closed.length >= 2, { what: 'the sessions to end' });
    expect([...a!.closed, ...b!.closed].map((info) => info.reason)).toEqual(['store-lost', 'store-lost', 'store-lost']);
    expect(a!.errors).toContain('ERR_ADAPTER_UNAVAILABLE');
    await waitFor(() => a!.backend.isUp && b!.backend.isUp, { what: 'both nodes back on Redis' });
    // And the cluster works again: a session made on a, polled through b.
    const again = new JarPollClient(a!.baseUrl);
    await again.handshake();
    a!.server.getConn(again.sessionId)!.send('after');
    const viaB = new JarPollClient(b!.baseUrl, again.jar);
    viaB.sessionId = again.sessionId;
    expect(texts(await viaB.poll())).toEqual(['after']);
    socket.ws.close();
  });
});
