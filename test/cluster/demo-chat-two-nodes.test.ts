/**
 * The chat demo on two nodes (cluster sessions on one redis-server) behind the round-robin
 * HAProxy: both nodes show one room — who is here, the history, and each join and leave told
 * once — whichever node a page's requests land on.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisCluster } from '../../src/adapters/redis/cluster.js';
import { buildDemoApp } from '../../src/demo/app.js';
import { startHaproxy, type Haproxy } from '../helpers/haproxy.js';
import { next, send, type ChatMessage } from '../helpers/chat-client.js';
import { LegacyWsClient } from '../helpers/legacy-ws.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

let redis: RedisServer;
let haproxy: Haproxy;
const apps: FastifyInstance[] = [];
const clients: LegacyWsClient[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  for (const name of ['a', 'b']) {
    const app = await buildDemoApp({
      server: {
        heartbeatIntervalMs: 0,
        reconnectWindowMs: 300,
        cluster: redisCluster({ url: redis.url, nodeId: name }),
      },
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    apps.push(app);
  }
  haproxy = await startHaproxy(
    apps.map((app, index) => ({ name: `n${index + 1}`, address: new URL(app.switchyard.url).host })),
  );
}, 60_000);
afterAll(async () => {
  clients.forEach((client) => client.close());
  await haproxy?.stop();
  await Promise.all(apps.map((app) => app.close()));
  await redis?.stop();
});

/** A page's websocket through HAProxy; round-robin puts consecutive ones on alternating nodes. */
async function connect(): Promise<LegacyWsClient> {
  const client = await LegacyWsClient.connect(`${haproxy.url.replace('http', 'ws')}/socket.io/websocket`);
  clients.push(client);
  return client;
}

const nodeOf = (client: LegacyWsClient) =>
  apps.findIndex((app) => app.switchyard.getConn(client.sessionId) !== undefined);
const chatTypes = (client: LegacyWsClient) =>
  client.messages.filter((m) => m.type === 'json').map((m) => (m.data as ChatMessage).type);

describe('the chat demo on two nodes behind HAProxy', () => {
  it('shows one room: users, history, and each join and leave once', async () => {
    const alice = await connect();
    send(alice, { join: { nick: 'alice', room: 'shared' } });
    await next(alice, 'welcome');
    for (let i = 1; i <= 3; i++) send(alice, { say: `line ${i}` });
    for (let i = 1; i <= 3; i++) await next(alice, 'message');

    const bob = await connect();
    expect(nodeOf(bob)).not.toBe(nodeOf(alice));
    send(bob, { join: { nick: 'Alice', room: 'shared' } });
    const welcome = await next(bob, 'welcome');
    expect(welcome.nick).toBe('Alice2');
    expect((welcome.history as Array<{ text: string }>).map((line) => line.text)).toEqual([
      'line 1',
      'line 2',
      'line 3',
    ]);
    expect(welcome.users).toEqual([
      { nick: 'alice', transport: 'websocket' },
      { nick: 'Alice2', transport: 'websocket' },
    ]);
    expect(await next(alice, 'joined')).toMatchObject({ nick: 'Alice2', users: welcome.users });

    send(bob, { say: 'hi from the other node' });
    expect(await next(alice, 'message')).toMatchObject({ nick: 'Alice2', text: 'hi from the other node' });

    bob.close();
    expect(await next(alice, 'left')).toMatchObject({
      nick: 'Alice2',
      users: [{ nick: 'alice', transport: 'websocket' }],
    });
    // Told once each, though two nodes heard of them (a message after it comes the same way).
    send(alice, { say: 'after' });
    await next(alice, 'message');
    expect(chatTypes(alice).filter((type) => type === 'joined' || type === 'left')).toEqual([]);
  });
});
