/**
 * Several Switchyard servers sharing one real redis-server (and again a real Redis Cluster of
 * three shards, classic pub/sub as ssredis) behave as one for fan-out:
 * broadcast, roomcast, except, socketcast and events reach 0.6 sessions, sac-sock sockets
 * and plain websocket connections on every instance exactly once, values byte for byte;
 * Redis going away leaves local fan-out working and is reported; forwarding resumes when
 * it comes back.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/codecs/sio.js';
import type { InboundMessage } from '../../src/codecs/types.js';
import type { RealtimeError } from '../../src/errors.js';
import type { Switchyard } from '../../src/server.js';
import { RedisAdapter } from '../../src/adapters/redis/adapter.js';
import { channelNames } from '../../src/adapters/redis/envelope.js';
import { LegacyWsClient } from '../helpers/legacy-ws.js';
import { PlainClient } from '../helpers/plain-ws.js';
import { REDIS_BACKENDS, type RedisBackend } from '../helpers/redis-cluster.js';
import { SacSockTestClient, splitServerFrame } from '../helpers/sac-sock-client.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';

/** One instance: its server, adapter, the ids of its sockets and the errors it reported. */
interface Instance extends StartedServer {
  readonly adapter: RedisAdapter;
  readonly errors: Error[];
}

/** Clients of every kind on one instance; `lobby` ones joined the room `lobby`. */
interface Clients {
  readonly legacy: LegacyWsClient;
  readonly legacyLobby: LegacyWsClient;
  readonly sac: SacSockTestClient;
  readonly sacLobby: SacSockTestClient;
  readonly plain: PlainClient;
  readonly plainLobby: PlainClient;
  /** Socket ids by client, for except and socketcast. */
  readonly ids: Map<object, string>;
}

let groupCounter = 0;

/** join → joined, say → the same data roomcast as `said`; plain endpoints at /plain and /plain-lobby. */
function setup(server: Switchyard, sacIds: string[]): void {
  server.onEvent('join', (socket, data) => {
    socket.join(data.toString());
    socket.emit('joined', data.toString());
  });
  server.onEvent('say', (_socket, data) => {
    server.to('lobby').emit('said', data.toString());
  });
  server.onSocketConnect((socket) => {
    if (socket.protocol === 'sac-sock') sacIds.push(socket.id);
  });
  server.websocket('/plain', { mode: 'text' }, () => undefined);
  server.websocket('/plain-lobby', { mode: 'text' }, (conn) => {
    server.join(conn, 'lobby');
  });
}

const unavailable = (errors: Error[]): boolean =>
  errors.some((error) => (error as RealtimeError).code === 'ERR_ADAPTER_UNAVAILABLE');
const joinFrame = (room: string): string => encodeFrame('~j~' + JSON.stringify({ event: 'join', data: room }));
const isEvent =
  (event: string) =>
  (message: InboundMessage): boolean =>
    message.type === 'json' && (message.data as { event?: unknown }).event === event;

describe.each(REDIS_BACKENDS)('several instances through $name', ({ start, isSingle }) => {
  let redis: RedisBackend;
  beforeAll(async () => {
    redis = await start();
  }, 60_000);
  afterAll(async () => {
    await redis?.stop();
  });
  const instances: Instance[] = [];
  const clients: Array<{ close(): void }> = [];
  const sacIdsByServer = new Map<Switchyard, string[]>();
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await Promise.all(instances.splice(0).map((instance) => instance.close()));
  });

  async function startInstances(count: number): Promise<Instance[]> {
    const serverGroup = `switchyard-multi-${process.pid}-${++groupCounter}`;
    for (let i = 0; i < count; i++) {
      const adapter = new RedisAdapter({
        url: redis.url,
        serverGroup,
        serverName: `node-${i}`,
        maxReconnectDelayMs: 100,
      });
      const errors: Error[] = [];
      const sacIds: string[] = [];
      const started = await startServer({ adapter, heartbeatIntervalMs: 0 }, (server) => {
        setup(server, sacIds);
        server.on('error', (error) => errors.push(error));
        sacIdsByServer.set(server, sacIds);
      });
      instances.push({ ...started, adapter, errors });
    }
    return instances.slice(-count);
  }

  async function connectSac(instance: Instance, room?: string): Promise<{ client: SacSockTestClient; id: string }> {
    const ids = sacIdsByServer.get(instance.server)!;
    const before = ids.length;
    const client = await SacSockTestClient.connect(`${instance.wsUrl}/socket`);
    clients.push(client);
    await waitFor(() => ids.length > before, { what: 'the sac-sock socket id' });
    if (room !== undefined) {
      client.emit('join', room);
      await client.next('joined');
    }
    return { client, id: ids[before]! };
  }

  async function connectAll(instance: Instance): Promise<Clients> {
    const ids = new Map<object, string>();
    const legacy = await LegacyWsClient.connect(`${instance.wsUrl}/socket.io/websocket`);
    const legacyLobby = await LegacyWsClient.connect(`${instance.wsUrl}/socket.io/websocket`);
    clients.push(legacy, legacyLobby);
    legacyLobby.send(joinFrame('lobby'));
    await legacyLobby.nextMessage(isEvent('joined'));
    ids.set(legacy, legacy.sessionId).set(legacyLobby, legacyLobby.sessionId);
    const sac = await connectSac(instance);
    const sacLobby = await connectSac(instance, 'lobby');
    ids.set(sac.client, sac.id).set(sacLobby.client, sacLobby.id);
    const plain = await PlainClient.connect(`${instance.wsUrl}/plain`);
    const plainLobby = await PlainClient.connect(`${instance.wsUrl}/plain-lobby`);
    clients.push({ close: () => plain.ws.close() }, { close: () => plainLobby.ws.close() });
    await waitFor(() => instance.server.adapter.members('lobby').size === 3, { what: 'three lobby members' });
    return { legacy, legacyLobby, sac: sac.client, sacLobby: sacLobby.client, plain, plainLobby, ids };
  }

  /** What a client got, as comparable strings, in order. */
  function got(client: LegacyWsClient | SacSockTestClient | PlainClient): string[] {
    if (client instanceof LegacyWsClient) return client.messages.map((m) => JSON.stringify(m));
    if (client instanceof SacSockTestClient) {
      return client.frames.map((frame) => {
        const { event, type, payload } = splitServerFrame(frame);
        return `${event}/${type}/${payload.toString()}`;
      });
    }
    return client.received.map((m) => m.data.toString());
  }

  /**
   * Sends `marker` to everyone from `from` and waits until every client's last item is it:
   * then what each got before the marker is all it will get of earlier fan-outs (one
   * publisher's messages reach each instance in order).
   */
  async function settle(from: Instance, all: Clients[]): Promise<void> {
    from.server.broadcast('marker');
    const every = all.flatMap((c) => [c.legacy, c.legacyLobby, c.sac, c.sacLobby, c.plain, c.plainLobby]);
    await waitFor(() => every.every((client) => got(client).at(-1)?.includes('marker') === true), {
      what: 'the marker everywhere',
    });
  }

  const TEXT_MARKER = JSON.stringify({ type: 'text', data: 'marker' });
  const SAC_MARKER = 'message/S/marker';

  it('a broadcast from one of three instances reaches every client of every instance exactly once', async () => {
    const [a, b, c] = await startInstances(3);
    const all = [await connectAll(a!), await connectAll(b!), await connectAll(c!)];
    expect(a!.server.broadcast('hello')).toEqual({ delivered: 6, refused: 0 });
    await settle(a!, all);
    for (const on of all) {
      expect(got(on.legacy)).toEqual([JSON.stringify({ type: 'text', data: 'hello' }), TEXT_MARKER]);
      expect(got(on.sac)).toEqual(['message/S/hello', SAC_MARKER]);
      expect(got(on.plain)).toEqual(['hello', 'marker']);
    }
    expect(a!.adapter.stats.echoes).toBe(2);
    expect(b!.adapter.stats.received).toBe(2);
  });

  it('a sac-sock event roomcast on A reaches the room members of both instances as the same event, no one else', async () => {
    const [a, b] = await startInstances(2);
    const all = [await connectAll(a!), await connectAll(b!)];
    all[0]!.sac.emit('say', 'hi there');
    // A's handler has roomcast once its own lobby member has it.
    await waitFor(() => got(all[0]!.sacLobby).length === 1, { what: 'the roomcast on A' });
    await settle(a!, all);
    for (const on of all) {
      expect(got(on.sacLobby)).toEqual(['said/S/hi there', SAC_MARKER]);
      expect(on.legacyLobby.messages).toEqual([
        { type: 'json', data: { event: 'said', data: 'hi there' } },
        { type: 'text', data: 'marker' },
      ]);
      expect(got(on.plainLobby)).toEqual(['hi there', 'marker']);
      // Outside the room: the marker only.
      expect(got(on.sac)).toEqual([SAC_MARKER]);
      expect(got(on.legacy)).toEqual([TEXT_MARKER]);
      expect(got(on.plain)).toEqual(['marker']);
    }
  });

  it('broadcastExcept and to(room).except(x) skip the excluded on the other instance', async () => {
    const [a, b] = await startInstances(2);
    const all = [await connectAll(a!), await connectAll(b!)];
    const onB = all[1]!;
    const excluded = [onB.ids.get(onB.sac)!, onB.ids.get(onB.legacy)!];
    a!.server.broadcastExcept(excluded, 'not for you');
    a!.server.to('lobby').except(onB.ids.get(onB.sacLobby)!).emit('news', { n: 1 });
    await settle(a!, all);
    expect(got(onB.sac)).toEqual([SAC_MARKER]);
    expect(got(onB.legacy)).toEqual([TEXT_MARKER]);
    expect(got(onB.plain)).toEqual(['not for you', 'marker']);
    expect(got(onB.sacLobby)).toEqual(['message/S/not for you', SAC_MARKER]);
    expect(got(onB.plainLobby)).toEqual(['not for you', '{"n":1}', 'marker']);
    expect(onB.legacyLobby.messages[1]).toEqual({ type: 'json', data: { event: 'news', data: { n: 1 } } });
    expect(got(all[0]!.sacLobby)).toEqual(['message/S/not for you', 'news/J/{"n":1}', SAC_MARKER]);
  });

  it('a socketcast from A reaches the socket with that id on B, and nobody else', async () => {
    const [a, b] = await startInstances(2);
    const all = [await connectAll(a!), await connectAll(b!)];
    const onB = all[1]!;
    expect(a!.server.socketcast(onB.ids.get(onB.sac)!, 'dm', 'psst')).toEqual({ delivered: 0, refused: 0 });
    a!.server.socketcast(onB.ids.get(onB.legacy)!, 'dm', { secret: true });
    await settle(a!, all);
    expect(got(onB.sac)).toEqual(['dm/S/psst', SAC_MARKER]);
    expect(onB.legacy.messages[0]).toEqual({ type: 'json', data: { event: 'dm', data: { secret: true } } });
    for (const on of all) expect(got(on.sacLobby)).toEqual([SAC_MARKER]);
    expect(got(all[0]!.sac)).toEqual([SAC_MARKER]);
  });

  it('string, binary and JSON values arrive on B byte for byte as on A, events and plain messages alike', async () => {
    const [a, b] = await startInstances(2);
    const all = [await connectAll(a!), await connectAll(b!)];
    const values: unknown[] = [
      'grüße, 世界 and an astral 🎉',
      Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
      { nested: { list: [1, 2.5, null, true, 'é'] }, emoji: '🚀', empty: {} },
    ];
    for (const value of values) {
      a!.server.to('lobby').emit('v', value);
      a!.server.to('lobby').send(value);
    }
    await settle(a!, all);
    const [onA, onB] = all as [Clients, Clients];
    // Three events, three plain messages, the marker (`joined` was taken by connectSac).
    expect(onB.sacLobby.frames).toHaveLength(7);
    expect(onB.sacLobby.frames).toEqual(onA.sacLobby.frames);
    expect(onB.legacyLobby.payloads.slice(1)).toEqual(onA.legacyLobby.payloads.slice(1));
    expect(onB.plainLobby.received).toEqual(onA.plainLobby.received);
    expect(onB.sacLobby.frames[2]!.isBinary).toBe(true);
  });

  if (!isSingle) {
    it('on a Redis Cluster, keeps the ssredis channels on classic pub/sub: a plain SUBSCRIBE on any shard hears them', async () => {
      const [a] = await startInstances(2);
      const channels = channelNames(a!.adapter.options.serverGroup);
      const shards = [0, 1, 2].map((index) => redis.shard(index));
      try {
        // A Go peer (ssredis) subscribes with SUBSCRIBE on whichever node it knows.
        const heard = await Promise.all(shards.map((shard) => subscribeOne(shard, channels.broadcasts)));
        a!.server.broadcast('to go');
        const envelopes = await Promise.all(heard.map((subscribed) => subscribed.first));
        for (const envelope of envelopes) expect(JSON.parse(envelope)).toMatchObject({ e: 'message', s: 'node-0' });
        const sharded = await Promise.all(shards.map((shard) => shard.call('PUBSUB', 'SHARDCHANNELS')));
        expect(sharded.flat()).toEqual([]);
      } finally {
        shards.forEach((shard) => shard.disconnect());
      }
    });
    // The rest kill one connection, then Redis itself: one redis-server's.
    return;
  }
  it('reports a lost subscription, still publishes meanwhile, and subscribes again by itself', async () => {
    const [a, b] = await startInstances(2);
    const sacA = await connectSac(a!, 'lobby');
    const sacB = await connectSac(b!, 'lobby');
    const admin = new Redis(redis.url);
    try {
      // Cut B's subscribed connection only, as a proxy or a Redis restart of that client would.
      const list = String(await admin.call('CLIENT', 'LIST'));
      const line = list
        .split('\n')
        .find((entry) => entry.includes(`name=switchyard:${b!.adapter.serverName}:subscribe`));
      const id = /\bid=(\d+)/.exec(line ?? '')?.[1];
      expect(id).toBeDefined();
      await admin.call('CLIENT', 'KILL', 'ID', id!);
    } finally {
      admin.disconnect();
    }
    await waitFor(() => unavailable(b!.errors), { what: 'B reports the lost subscription' });
    expect(a!.errors).toEqual([]);
    // B's publishing connection is fine: A still hears from B.
    b!.server.to('lobby').emit('from-b', 'x');
    expect((await sacA.client.next('from-b')).payload.toString()).toBe('x');
    await waitFor(() => b!.adapter.isForwarding, { what: 'B subscribed again' });
    a!.server.to('lobby').emit('from-a', 'y');
    expect((await sacB.client.next('from-a')).payload.toString()).toBe('y');
  });

  it('keeps local fan-out when Redis goes away, reports it, and forwards again once Redis is back', async () => {
    const [a, b] = await startInstances(2);
    const sacA = await connectSac(a!, 'lobby');
    const sacB = await connectSac(b!, 'lobby');
    await redis.single!.kill();
    await waitFor(() => unavailable(a!.errors) && unavailable(b!.errors), { what: 'both instances report the loss' });
    expect(a!.adapter.isForwarding).toBe(false);

    expect(a!.server.to('lobby').emit('local', 'still here')).toEqual({ delivered: 1, refused: 0 });
    expect((await sacA.client.next('local')).payload.toString()).toBe('still here');
    expect(a!.adapter.stats.publishDropped).toBe(1);

    await redis.single!.restart();
    await waitFor(() => a!.adapter.isForwarding && b!.adapter.isForwarding, {
      timeoutMs: 10_000,
      what: 'both adapters forwarding again',
    });
    a!.server.to('lobby').emit('back', 'again');
    expect((await sacB.client.next('back')).payload.toString()).toBe('again');
    expect(sacB.client.frames.some((frame) => splitServerFrame(frame).event === 'local')).toBe(false);
  });
});

/** Subscribes `redis` to `channel`; resolves once subscribed, with the promise of its first message. */
async function subscribeOne(redis: Redis, channel: string): Promise<{ first: Promise<string> }> {
  const first = new Promise<string>((resolve) =>
    redis.once('message', (_channel: string, text: string) => resolve(text)),
  );
  await redis.subscribe(channel);
  return { first };
}
