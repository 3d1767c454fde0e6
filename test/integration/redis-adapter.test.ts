/**
 * RedisAdapter on its own against a real redis-server: the Adapter contract (one
 * instance), startup failure, option validation, and the wire: a hand-written Go-style
 * ssredis envelope reaches local members, what Switchyard publishes parses as one, and
 * malformed envelopes are reported and dropped.
 */
import { createServer as createNetServer } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RealtimeError } from '../../src/errors.js';
import { createServer } from '../../src/server.js';
import { privateRoom } from '../../src/hub/adapter.js';
import { PreparedMessage } from '../../src/hub/prepared.js';
import { RedisAdapter, type RedisAdapterOptions } from '../../src/adapters/redis/adapter.js';
import { runAdapterContract, RecordingMember } from '../contract/adapter.contract.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait-for.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

let groupCounter = 0;
/** Every test in a group of its own: nothing published by one test reaches another. */
const freshGroup = (): string => `switchyard-test-${process.pid}-${++groupCounter}`;

async function readyAdapter(options: RedisAdapterOptions = {}): Promise<RedisAdapter> {
  const adapter = new RedisAdapter({ url: redis.url, serverGroup: freshGroup(), ...options });
  await adapter.ready();
  return adapter;
}

runAdapterContract('RedisAdapter (one instance)', { create: () => readyAdapter() });

describe('RedisAdapter on the wire', () => {
  const opened: Array<{ close(): unknown }> = [];
  afterEach(async () => {
    for (const item of opened.splice(0).reverse()) await item.close();
  });

  /** A plain ioredis subscriber on a group's two channels, recording [channel, message]. */
  async function listen(group: string): Promise<Array<[string, string]>> {
    const sub = new Redis(redis.url);
    opened.push({ close: () => sub.quit() });
    const seen: Array<[string, string]> = [];
    sub.on('message', (channel: string, message: string) => seen.push([channel, message]));
    await sub.subscribe(`${group}:_ss_roomcasts`, `${group}:_ss_broadcasts`);
    return seen;
  }

  async function publisher(): Promise<Redis> {
    const pub = new Redis(redis.url);
    opened.push({ close: () => pub.quit() });
    await pub.ping();
    return pub;
  }

  it('delivers a hand-written Go-style envelope {d,e,r,p,s} to the local room members only', async () => {
    const adapter = await readyAdapter();
    opened.push(adapter);
    const [a, b] = ['a', 'b'].map((id) => new RecordingMember(id));
    adapter.addMember(a!);
    adapter.addMember(b!);
    adapter.join('a', 'lobby');
    const pub = await publisher();
    const group = adapter.options.serverGroup;
    await pub.publish(`${group}:_ss_roomcasts`, '{"d":3,"e":"msg","r":"lobby","p":"eyJhIjoxfQ==","s":"go-1"}');
    await pub.publish(`${group}:_ss_broadcasts`, '{"d":1,"e":"chat","p":"aGk=","s":"go-1"}');
    await pub.publish(`${group}:_ss_roomcasts`, `{"d":2,"e":"bin","r":"${privateRoom('b')}","p":"3q0=","s":"go-1"}`);
    await waitFor(() => a!.received.length === 2 && b!.received.length === 2, { what: 'the three go messages' });
    expect(a!.received.map((m) => [m.event, m.value])).toEqual([
      ['msg', { a: 1 }],
      ['chat', 'hi'],
    ]);
    expect(b!.received[0]).toMatchObject({ event: 'chat', value: 'hi' });
    expect(b!.received[1]!.event).toBe('bin');
    expect(Buffer.from(b!.received[1]!.value as Uint8Array)).toEqual(Buffer.from([0xde, 0xad]));
    expect(adapter.stats.received).toBe(3);
  });

  it('publishes what a Go instance parses: keys d,e,r,p,s in order, base64 payloads, extras apart', async () => {
    const adapter = await readyAdapter({ serverName: 'ts-1' });
    opened.push(adapter);
    const seen = await listen(adapter.options.serverGroup);
    const group = adapter.options.serverGroup;
    adapter.fanOut(new PreparedMessage('hi', 'chat'), {});
    adapter.fanOut(new PreparedMessage({ a: 1 }, 'msg'), { rooms: ['lobby'] });
    adapter.fanOut(new PreparedMessage(Buffer.from([0xde, 0xad]), 'bin'), { rooms: ['x'], except: new Set(['q']) });
    adapter.fanOut(new PreparedMessage('plain'), { rooms: ['a', 'b'] });
    await waitFor(() => seen.length === 4, { what: 'four published envelopes' });
    expect(seen).toEqual([
      [`${group}:_ss_broadcasts`, '{"d":1,"e":"chat","p":"aGk=","s":"ts-1"}'],
      [`${group}:_ss_roomcasts`, '{"d":3,"e":"msg","r":"lobby","p":"eyJhIjoxfQ==","s":"ts-1"}'],
      [`${group}:_ss_roomcasts`, '{"d":2,"e":"bin","r":"x","p":"3q0=","s":"ts-1","except":["q"]}'],
      [
        `${group}:_ss_roomcasts`,
        '{"d":1,"e":"message","r":"a","p":"cGxhaW4=","s":"ts-1","rooms":["a","b"],"plain":true}',
      ],
    ]);
    expect(adapter.stats.published).toBe(4);
  });

  it('does not publish a socketcast to a member of its own, nor a fan-out to no room', async () => {
    const adapter = await readyAdapter();
    opened.push(adapter);
    const seen = await listen(adapter.options.serverGroup);
    const a = new RecordingMember('a');
    adapter.addMember(a);
    adapter.fanOut(new PreparedMessage('you'), { rooms: [privateRoom('a')] });
    adapter.fanOut(new PreparedMessage('nobody'), { rooms: [] });
    adapter.fanOut(new PreparedMessage('elsewhere'), { rooms: [privateRoom('remote-id')] });
    await waitFor(() => seen.length === 1, { what: 'the remote socketcast' });
    expect(JSON.parse(seen[0]![1])).toMatchObject({ r: privateRoom('remote-id') });
    expect(a.values()).toEqual(['you']);
  });

  it('drops its own messages coming back, and reports and drops malformed envelopes', async () => {
    const adapter = await readyAdapter({ serverName: 'me' });
    opened.push(adapter);
    const errors: RealtimeError[] = [];
    adapter.on('error', (error) => errors.push(error));
    const a = new RecordingMember('a');
    adapter.addMember(a);
    adapter.join('a', 'lobby');
    const pub = await publisher();
    const group = adapter.options.serverGroup;
    const bad = [
      'not json',
      '[1,2]',
      '{"d":0,"e":"x","p":"","s":"go"}',
      '{"d":1,"e":"","p":"","s":"go"}',
      '{"d":1,"e":"x","p":"%%%=","s":"go"}',
      '{"d":3,"e":"x","p":"e30","s":"go"}',
      '{"d":3,"e":"x","p":"ew==","s":"go"}',
      '{"d":1,"e":"x","p":"/w==","s":"go"}',
      '{"d":1,"e":"x","p":"aGk=","s":"go","except":"a"}',
    ];
    for (const text of bad) await pub.publish(`${group}:_ss_broadcasts`, text);
    await pub.publish(`${group}:_ss_roomcasts`, '{"d":1,"e":"x","p":"aGk=","s":"go"}');
    await pub.publish(`${group}:_ss_broadcasts`, '{"d":1,"e":"x","p":"ZWNobw==","s":"me"}');
    await pub.publish(`${group}:_ss_broadcasts`, '{"d":1,"e":"x","p":"b2s=","s":"go"}');
    await waitFor(() => a.received.length === 1, { what: 'the one good message' });
    expect(a.values()).toEqual(['ok']);
    await waitFor(() => adapter.stats.malformed === bad.length + 1, { what: 'every malformed envelope counted' });
    expect(adapter.stats.echoes).toBe(1);
    expect(errors).toHaveLength(bad.length + 1);
    expect(errors.every((error) => error.code === 'ERR_MALFORMED_FRAME')).toBe(true);
  });

  it('fails ready() with ERR_ADAPTER_UNAVAILABLE within connectTimeoutMs when Redis is unreachable', async () => {
    // A port that was free a moment ago: nothing listens there.
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createNetServer();
      probe.listen(0, '127.0.0.1', () => {
        const port = (probe.address() as { port: number }).port;
        probe.close(() => resolve(port));
      });
    });
    const adapter = new RedisAdapter({ url: `redis://127.0.0.1:${closedPort}`, connectTimeoutMs: 500 });
    const started = Date.now();
    await expect(adapter.ready()).rejects.toMatchObject({ code: 'ERR_ADAPTER_UNAVAILABLE' });
    expect(Date.now() - started).toBeLessThan(2_000);
    // The server refuses to listen without its adapter, and closes cleanly.
    const server = createServer({ adapter, flashPolicyPort: false });
    await expect(server.listen({ port: 0 })).rejects.toMatchObject({ code: 'ERR_ADAPTER_UNAVAILABLE' });
    await server.close();
  });

  it('fails ready() after connectTimeoutMs when something accepts the connection but never answers', async () => {
    // Reads (and ignores) what it is sent, so it notices when the client hangs up.
    const silent = createNetServer((socket) => socket.on('error', () => undefined).resume());
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const adapter = new RedisAdapter({ url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 300 });
      const started = Date.now();
      await expect(adapter.ready()).rejects.toMatchObject({
        code: 'ERR_ADAPTER_UNAVAILABLE',
        message: expect.stringContaining('connectTimeoutMs (300 ms)'),
      });
      expect(Date.now() - started).toBeLessThan(2_000);
      await adapter.close();
      expect(adapter.isForwarding).toBe(false);
    } finally {
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('validates every option', () => {
    const bad: RedisAdapterOptions[] = [
      { url: 'http://127.0.0.1:6379' },
      { serverName: '' },
      { serverGroup: 'x'.repeat(257) },
      { connectTimeoutMs: 0 },
      { maxReconnectDelayMs: 1.5 },
      { publishTimeoutMs: -1 },
      { maxPendingPublishes: Number.NaN },
      { maxEnvelopeBytes: 0 },
      { client: {} as Redis },
    ];
    for (const options of bad) {
      expect(() => new RedisAdapter({ url: redis.url, ...options }), JSON.stringify(options)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_OPTION' }),
      );
    }
  });

  it('reuses the settings of a given client for connections of its own, and leaves the client open', async () => {
    const client = new Redis(redis.url, { lazyConnect: true });
    const adapter = new RedisAdapter({ client, serverGroup: freshGroup() });
    await adapter.ready();
    expect(adapter.isForwarding).toBe(true);
    await adapter.close();
    expect(client.status).toBe('wait');
    client.disconnect();
  });

  it('reports a PUBLISH Redis does not answer in time, once per run of failures, and drops beyond maxPendingPublishes', async () => {
    const adapter = await readyAdapter({ publishTimeoutMs: 200, maxPendingPublishes: 1 });
    opened.push(adapter);
    const errors: RealtimeError[] = [];
    adapter.on('error', (error) => errors.push(error));
    const seen = await listen(adapter.options.serverGroup);
    const admin = await publisher();
    // Redis holds every write command (PUBLISH included) of every client for 2 s.
    await admin.call('CLIENT', 'PAUSE', '2000', 'WRITE');
    adapter.fanOut(new PreparedMessage('held'), {});
    adapter.fanOut(new PreparedMessage('over the limit'), {});
    await waitFor(() => adapter.stats.publishDropped === 2, { what: 'the timed-out and the refused publish' });
    expect(errors.map((error) => error.code)).toEqual(['ERR_ADAPTER_UNAVAILABLE']);
    expect(errors[0]!.message).toContain('maxPendingPublishes');
    adapter.fanOut(new PreparedMessage('still held'), {});
    await waitFor(() => adapter.stats.publishDropped === 3, { what: 'the second timeout' });
    // One report for the run of failures: the timeouts after the refusal add none.
    expect(errors).toHaveLength(1);
    await admin.call('CLIENT', 'UNPAUSE');
    adapter.fanOut(new PreparedMessage('through'), {});
    await waitFor(() => seen.some(([, text]) => text.includes(Buffer.from('through').toString('base64'))), {
      what: 'a publish after the pause',
    });
    expect(adapter.stats.published).toBeGreaterThanOrEqual(1);
  });

  it('reports a value without a JSON form instead of throwing from fanOut', async () => {
    const adapter = await readyAdapter();
    opened.push(adapter);
    const errors: RealtimeError[] = [];
    adapter.on('error', (error) => errors.push(error));
    expect(adapter.fanOut(new PreparedMessage(10n), {})).toEqual({ delivered: 0, refused: 0 });
    expect(errors.map((error) => error.code)).toEqual(['ERR_INVALID_MESSAGE']);
    expect(adapter.stats.publishDropped).toBe(1);
  });
});
