import { afterEach, describe, expect, it } from 'vitest';
import type { WebSocketConnection } from '../../src/endpoints/connection.js';
import type { WebSocketEndpoint } from '../../src/endpoints/endpoint.js';
import type { WebSocketEndpointOptions } from '../../src/endpoints/options.js';
import type { Member } from '../../src/hub/member.js';
import { PreparedMessage } from '../../src/hub/prepared.js';
import { connectPair, holdsFor, PlainClient, startEndpoint, type StartedEndpoint } from '../helpers/plain-ws.js';
import { waitFor } from '../helpers/wait-for.js';

type Started = StartedEndpoint;

describe('plain websocket endpoint: flow control, keep-alive, channels', () => {
  let started: Started | undefined;
  afterEach(async () => {
    await started?.close();
    started = undefined;
  });

  async function pair(options: WebSocketEndpointOptions<unknown> = {}, clientOptions?: { autoPong?: boolean }) {
    started ??= await startEndpoint(options);
    return connectPair(started, clientOptions);
  }

  /** Waits until `read()` has not changed for `quietMs` (bounded by `timeoutMs`). */
  async function settle(read: () => number, quietMs = 300, timeoutMs = 8_000): Promise<number> {
    let last = read();
    let since = Date.now();
    await waitFor(
      () => {
        const now = read();
        if (now !== last) {
          last = now;
          since = Date.now();
        }
        return Date.now() - since >= quietMs;
      },
      { timeoutMs, what: 'the value to settle' },
    );
    return last;
  }

  it('send() waits while the client does not read (bounded memory), and resumes when it does', async () => {
    const highWater = 64 * 1024;
    const { client, conn } = await pair({
      mode: 'binary',
      sendBuffer: 4,
      sendHighWaterMarkBytes: highWater,
      writeTimeoutMs: 0,
      idleTimeoutMs: 0,
    });
    client.ws.pause();
    const total = 400;
    const message = Buffer.alloc(64 * 1024, 7);
    let accepted = 0;
    let maxBuffered = 0;
    const sender = (async () => {
      for (let i = 0; i < total; i++) {
        await conn.send(message);
        accepted++;
        maxBuffered = Math.max(maxBuffered, conn.bufferedAmount);
      }
    })();
    const stalledAt = await settle(() => accepted);
    expect(stalledAt).toBeLessThan(total);
    expect(conn.queuedSends).toBeLessThanOrEqual(4 + 1);
    // Never more than the high-water mark plus one message handed to the socket.
    expect(maxBuffered).toBeLessThanOrEqual(highWater + message.length + 14); // + one frame header
    client.ws.resume();
    await sender;
    await client.waitForMessages(total, 15_000);
    expect(client.received.every((m) => m.isBinary && m.data.length === message.length)).toBe(true);
  });

  it('pauses reading the socket while the receive buffer is full', async () => {
    const { client, conn } = await pair({ mode: 'text', recvBuffer: 3, idleTimeoutMs: 0 });
    for (let i = 0; i < 3; i++) client.ws.send(`m${i}`);
    await waitFor(() => conn.isReceivePaused, { what: 'reading paused' });
    expect(conn.queuedMessages).toBe(3);
    // While paused, more messages stay in the network, not in the server's queue.
    for (let i = 3; i < 40; i++) client.ws.send(`m${i}`);
    expect(await holdsFor(() => conn.queuedMessages === 3, 200)).toBe(true);
    const got: string[] = [];
    for await (const text of conn.messages as AsyncIterable<string>) {
      got.push(text);
      if (got.length === 40) break;
    }
    expect(got).toEqual(Array.from({ length: 40 }, (_, i) => `m${i}`));
    await waitFor(() => !conn.isReceivePaused, { what: 'reading resumed' });
  });

  it('pings every pingIntervalMs', async () => {
    const { client } = await pair({ pingIntervalMs: 50, idleTimeoutMs: 1_000 });
    let pings = 0;
    client.ws.on('ping', () => pings++);
    await waitFor(() => pings >= 3, { what: 'three pings' });
    expect(client.closeCode).toBeUndefined();
  });

  it('idle timeout: a client that stops answering pings is dropped (writes do not keep it alive)', async () => {
    const { client, conn } = await pair({ mode: 'text', pingIntervalMs: 50, idleTimeoutMs: 250 }, { autoPong: false });
    const began = Date.now();
    const writer = setInterval(() => void conn.send('tick').catch(() => undefined), 20);
    try {
      const info = await conn.done;
      expect(info.error?.code).toBe('ERR_HEARTBEAT_TIMEOUT');
      expect(Date.now() - began).toBeGreaterThanOrEqual(200);
      expect(info.code).toBe(1006);
    } finally {
      clearInterval(writer);
    }
    expect(await client.waitForClose()).toBe(1006);
  });

  it('idle timeout: pongs keep an answering client alive', async () => {
    const { client, conn } = await pair({ pingIntervalMs: 50, idleTimeoutMs: 300 });
    let pings = 0;
    client.ws.on('ping', () => pings++);
    expect(await holdsFor(() => conn.state === 'open', 700)).toBe(true);
    expect(pings).toBeGreaterThanOrEqual(3); // and each was answered with a pong
    client.ws.close();
  });

  it('write timeout: no write progress for writeTimeoutMs terminates the connection', async () => {
    const { client, conn } = await pair({ mode: 'binary', writeTimeoutMs: 300, idleTimeoutMs: 0, sendBuffer: 2 });
    client.ws.pause();
    const message = Buffer.alloc(256 * 1024);
    const sender = (async () => {
      for (let i = 0; i < 400; i++) await conn.send(message);
    })();
    const info = await conn.done;
    expect(info.error?.code).toBe('ERR_WRITE_TIMEOUT');
    await expect(sender).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    const codes: string[] = [];
    for await (const error of conn.errors) codes.push(error.code);
    expect(codes).toContain('ERR_WRITE_TIMEOUT');
    client.ws.terminate();
  });

  describe('JSON mode and invalid input', () => {
    it('decodes JSON text and binary, and sends JSON text frames', async () => {
      const { client, conn } = await pair({ mode: 'json' });
      client.ws.send('{"a":1}');
      client.ws.send(Buffer.from('[2]'));
      const iterator = conn.messages[Symbol.asyncIterator]();
      expect((await iterator.next()).value).toEqual({ a: 1 });
      expect((await iterator.next()).value).toEqual([2]);
      await conn.send({ b: 'ü' });
      await client.waitForMessages(1);
      expect(client.received[0]).toMatchObject({ isBinary: false });
      expect(client.texts()).toEqual(['{"b":"ü"}']);
    });

    it("'close' (default): closes with 1007 and reports ERR_MALFORMED_FRAME", async () => {
      const { client, conn } = await pair({ mode: 'json' });
      client.ws.send('{"ok":true}');
      client.ws.send('{nope');
      const got: unknown[] = [];
      for await (const value of conn.messages) got.push(value);
      expect(got).toEqual([{ ok: true }]);
      expect(await client.waitForClose()).toBe(1007);
      expect((await conn.done).error?.code).toBe('ERR_MALFORMED_FRAME');
    });

    it("'skip': drops the message and goes on, nothing reported", async () => {
      const { client, conn } = await pair({ mode: 'json', onInvalidMessage: 'skip' });
      client.ws.send('{nope');
      client.ws.send('1');
      const iterator = conn.messages[Symbol.asyncIterator]();
      expect((await iterator.next()).value).toBe(1);
      client.ws.close(1000);
      const codes: string[] = [];
      for await (const error of conn.errors) codes.push(error.code);
      expect(codes).toEqual([]);
    });

    it("'error': reports each invalid message on errors and goes on; validate rejects values", async () => {
      const { client, conn } = await pair({
        mode: 'json',
        onInvalidMessage: 'error',
        validate: (value) => {
          if (typeof value !== 'number') throw new Error('not a number');
          return value;
        },
      });
      client.ws.send('{nope');
      client.ws.send('"text"');
      client.ws.send('42');
      const iterator = conn.messages[Symbol.asyncIterator]();
      expect((await iterator.next()).value).toBe(42);
      const errors = conn.errors[Symbol.asyncIterator]();
      expect((await errors.next()).value).toMatchObject({
        code: 'ERR_MALFORMED_FRAME',
        message: expect.stringMatching(/JSON/),
      });
      expect((await errors.next()).value).toMatchObject({
        code: 'ERR_MALFORMED_FRAME',
        message: expect.stringMatching(/not a number/),
      });
      expect(conn.state).toBe('open');
      client.ws.close();
    });

    it('text mode: a binary message that is not UTF-8 is invalid (close 1007)', async () => {
      const { client, conn } = await pair({ mode: 'text' });
      client.ws.send(Buffer.from([0xff, 0xfe]));
      for await (const value of conn.messages) expect.unreachable(String(value));
      expect(await client.waitForClose()).toBe(1007);
      expect((await conn.done).error?.code).toBe('ERR_INVALID_UTF8');
    });
  });

  describe('rooms: fan-out to plain connections (Member)', () => {
    /** The simplest fan-out over Members, as the room adapter performs it. */
    function roomcast(members: Iterable<Member>, message: PreparedMessage) {
      return [...members].map((member) => member.deliver(message));
    }

    it('each connection receives a roomcast in its own mode, encoded once per mode', async () => {
      const others: Array<WebSocketEndpoint<unknown>> = [];
      started = await startEndpoint({ mode: 'json' }, undefined, (server) => {
        others.push(server.websocket('/text', { mode: 'text' }, () => undefined));
        others.push(server.websocket('/binary', { mode: 'binary' }, () => undefined));
      });
      const json1 = await PlainClient.connect(started.url);
      const json2 = await PlainClient.connect(started.url);
      const text = await PlainClient.connect(`${started.wsUrl}/text`);
      const binary = await PlainClient.connect(`${started.wsUrl}/binary`);
      await waitFor(() => started!.conns.length === 2 && others.every((e) => e.connections.size === 1), {
        what: 'all connections',
      });
      const members: Member[] = [...started.conns, ...others.flatMap((endpoint) => [...endpoint.connections])];
      const message = new PreparedMessage({ room: 'lobby', text: 'hi' });
      const encodings: string[] = [];
      const original = message.encoded.bind(message);
      message.encoded = ((format: string, encode: (m: PreparedMessage) => unknown) =>
        original(format, (m) => {
          encodings.push(format);
          return encode(m);
        })) as typeof message.encoded;
      expect(roomcast(members, message).every((result) => result.ok)).toBe(true);
      // Once per mode: the payload, and its RFC 6455 frame shared by that mode's connections.
      expect(encodings.filter((format) => !format.endsWith(':rfc6455'))).toHaveLength(3);
      expect(encodings.filter((format) => format.endsWith(':rfc6455'))).toHaveLength(3);
      for (const client of [json1, json2, text, binary]) await client.waitForMessages(1);
      expect(json1.texts()).toEqual(['{"room":"lobby","text":"hi"}']);
      expect(json2.received[0]?.isBinary).toBe(false);
      expect(text.texts()).toEqual(['{"room":"lobby","text":"hi"}']);
      expect(binary.received[0]?.isBinary).toBe(true);
      const plain = new PreparedMessage('just text');
      roomcast(members, plain);
      await text.waitForMessages(2);
      await json1.waitForMessages(2);
      expect(text.texts()[1]).toBe('just text');
      expect(json1.texts()[1]).toBe('"just text"');
    });

    it("a full send buffer: 'refuse' refuses the roomcast, 'close' closes as a slow consumer (1013)", async () => {
      started = await startEndpoint({
        sendBuffer: 1,
        sendHighWaterMarkBytes: 0,
        writeTimeoutMs: 0,
        queueOverflow: 'refuse',
      });
      const client = await PlainClient.connect(started.url);
      await waitFor(() => started!.conns.length === 1);
      const conn = started.conns[0] as WebSocketConnection<unknown>;
      client.ws.pause();
      const big = new PreparedMessage('x'.repeat(512 * 1024));
      const results = [];
      for (let i = 0; i < 200 && (results.at(-1)?.ok ?? true); i++) {
        results.push(conn.deliver(big));
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(results.at(-1)).toMatchObject({ ok: false, error: { code: 'ERR_QUEUE_FULL' } });
      expect(conn.state).toBe('open');
      client.ws.terminate();

      await started.close();
      started = await startEndpoint({
        sendBuffer: 1,
        sendHighWaterMarkBytes: 0,
        writeTimeoutMs: 0,
        closeTimeoutMs: 200,
      });
      const slow = await PlainClient.connect(started.url);
      await waitFor(() => started!.conns.length === 1);
      const conn2 = started.conns[0] as WebSocketConnection<unknown>;
      slow.ws.pause();
      let last;
      for (let i = 0; i < 200 && conn2.state === 'open'; i++) {
        last = conn2.deliver(big);
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(last).toMatchObject({ ok: false, error: { code: 'ERR_QUEUE_OVERFLOW' } });
      expect((await conn2.done).error?.code).toBe('ERR_QUEUE_OVERFLOW');
      slow.ws.terminate();
    });
  });
});
