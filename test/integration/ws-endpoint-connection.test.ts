import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { WebSocketConnection } from '../../src/endpoints/connection.js';
import { MessageTypeError, StatusCodeError, TooLargeError } from '../../src/endpoints/errors.js';
import type { WebSocketEndpointOptions } from '../../src/endpoints/options.js';
import { connectPair, PlainClient, startEndpoint, type StartedEndpoint } from '../helpers/plain-ws.js';
import { waitFor } from '../helpers/wait-for.js';

describe('plain websocket endpoint: connection', () => {
  let started: StartedEndpoint | undefined;
  afterEach(async () => {
    await started?.close();
    started = undefined;
  });

  /** A server and one connected client; resolves with both ends. */
  async function pair(options: WebSocketEndpointOptions<unknown> = {}) {
    started ??= await startEndpoint(options);
    return connectPair(started);
  }

  it('exposes resource, origin, remoteAddress and protocol read-only', async () => {
    const { conn } = await pair();
    expect(conn.resource.pathname).toBe('/ws');
    expect(conn.resource.protocol).toBe('ws:');
    expect(conn.origin).toBeNull();
    expect(conn.remoteAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(conn.protocol).toBe('');
    expect(() => Object.assign(conn, { protocol: 'x' })).toThrow(TypeError);
  });

  describe('close(code, reason)', () => {
    it.each([999, 1004, 1005.5, 1006, 1012, 1013, 1015, 2999, 5000])(
      'refuses code %d before sending anything',
      async (code) => {
        const { client, conn } = await pair();
        await expect(conn.close(code)).rejects.toBeInstanceOf(StatusCodeError);
        expect(conn.state).toBe('open');
        await conn.sendText('still open');
        await client.waitForMessages(1);
        expect(client.closeCode).toBeUndefined();
      },
    );

    it('refuses a reason over 123 bytes with TooLargeError, nothing sent', async () => {
      const { client, conn } = await pair();
      await expect(conn.close(1000, 'é'.repeat(62))).rejects.toBeInstanceOf(TooLargeError);
      await conn.sendText('still open');
      await client.waitForMessages(1);
      expect(client.closeCode).toBeUndefined();
    });

    it.each([1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999])(
      'sends code %d with its reason and resolves once the peer answered',
      async (code) => {
        const { client, conn } = await pair();
        const reason = 'x'.repeat(123);
        await conn.close(code, reason);
        expect(await client.waitForClose()).toBe(code);
        expect(client.closeReason).toBe(reason);
        expect(conn.state).toBe('closed');
        expect(await conn.closed).toEqual({ code, reason });
        await expect(conn.close()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
      },
    );

    it('1005 sends a close frame without a body (the reason is dropped)', async () => {
      const { client, conn } = await pair();
      await conn.close(1005, 'ignored');
      expect(await client.waitForClose()).toBe(1005);
      expect(client.closeReason).toBe('');
    });

    it('waits at most closeTimeoutMs for a peer that never answers, then drops TCP', async () => {
      started = await startEndpoint({ closeTimeoutMs: 200 });
      const raw = await rawClient(started.url);
      await waitFor(() => started!.conns.length === 1);
      const conn = started.conns[0] as WebSocketConnection<unknown>;
      const began = Date.now();
      await conn.close(1000);
      const took = Date.now() - began;
      expect(took).toBeGreaterThanOrEqual(150);
      expect(took).toBeLessThan(2_000);
      expect((await conn.closed).code).toBe(1006);
      await waitFor(() => raw.destroyed || raw.readableEnded, { what: 'TCP closed' });
      raw.destroy();
    });

    it('sends what was queued before the close frame', async () => {
      const { client, conn } = await pair({ mode: 'text' });
      for (let i = 0; i < 5; i++) void conn.send(`m${i}`);
      await conn.close(1000, 'bye');
      expect(await client.waitForClose()).toBe(1000);
      expect(client.texts()).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    });
  });

  describe('the client status (closed)', () => {
    it('clean close: the client code and reason', async () => {
      const { client, conn } = await pair();
      client.ws.close(4001, 'bye');
      expect(await conn.closed).toEqual({ code: 4001, reason: 'bye' });
      expect((await conn.done).error).toBeUndefined();
      expect(conn.signal.aborted).toBe(true);
    });

    it('close without a code: 1005', async () => {
      const { client, conn } = await pair();
      client.ws.close();
      expect(await conn.closed).toEqual({ code: 1005, reason: '' });
    });

    it('dropped connection: 1006 and ERR_CONNECTION_DROPPED on errors and done', async () => {
      const { client, conn } = await pair();
      client.ws.terminate();
      expect((await conn.closed).code).toBe(1006);
      expect((await conn.done).error?.code).toBe('ERR_CONNECTION_DROPPED');
      const errors = [];
      for await (const error of conn.errors) errors.push(error.code);
      expect(errors).toEqual(['ERR_CONNECTION_DROPPED']);
      await expect(conn.sendText('late')).rejects.toMatchObject({ code: 'ERR_CLOSED' });
      await expect(conn.receiveMessage()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    });
  });

  describe('streaming', () => {
    it('sendMessage streams a message far larger than one frame as fragments, nothing interleaved', async () => {
      const { client, conn } = await pair();
      const chunk = Buffer.alloc(64 * 1024);
      const writer = conn.sendMessage('binary');
      const late = conn.sendText('after');
      const expected: Buffer[] = [];
      for (let i = 0; i < 32; i++) {
        const part = Buffer.from(chunk.fill(i));
        expected.push(part);
        if (!writer.write(part)) await new Promise((resolve) => writer.once('drain', resolve));
      }
      writer.end();
      await late;
      await client.waitForMessages(2);
      expect(client.received[0]?.isBinary).toBe(true);
      expect(client.received[0]?.data.equals(Buffer.concat(expected))).toBe(true);
      expect(client.texts()[1]).toBe('after');
    });

    it('sendMessage of text may split a character across fragments', async () => {
      const { client, conn } = await pair();
      const bytes = Buffer.from('ü😀 streamed');
      const writer = conn.sendMessage('text');
      writer.write(bytes.subarray(0, 1));
      writer.write(bytes.subarray(1, 4));
      writer.end(bytes.subarray(4));
      await client.waitForMessages(1);
      expect(client.received[0]).toMatchObject({ isBinary: false });
      expect(client.texts()).toEqual(['ü😀 streamed']);
      expect(() => conn.sendMessage('close' as never)).toThrow(/sendMessage takes/);
    });

    it('a stream still open at close() fails its writes; the close goes out', async () => {
      const { client, conn } = await pair();
      const writer = conn.sendMessage('binary');
      const failed = new Promise<Error>((resolve) => writer.once('error', resolve));
      writer.write(Buffer.alloc(10));
      await conn.close(1000);
      writer.write(Buffer.alloc(10));
      expect(await failed).toMatchObject({ code: 'ERR_CLOSED' });
      expect(await client.waitForClose()).toBe(1000);
    });

    it('receiveMessage yields a fragmented binary message frame by frame', async () => {
      const { client, conn } = await pair({ maxMessageBytes: 0 });
      const parts = [Buffer.alloc(100_000, 1), Buffer.alloc(100_000, 2), Buffer.alloc(100_000, 3)];
      parts.forEach((part, i) => client.ws.send(part, { fin: i === parts.length - 1 }));
      const message = await conn.receiveMessage();
      expect(message.type).toBe('binary');
      const chunks: Uint8Array[] = [];
      for await (const chunk of message.body) chunks.push(chunk);
      expect(chunks.length).toBeGreaterThanOrEqual(3);
      expect(Buffer.concat(chunks).equals(Buffer.concat(parts))).toBe(true);
    });
  });

  describe('receiveText / receiveBinary', () => {
    it('receiveText over its limit: TooLargeError with a prefix cut at a code point, connection open', async () => {
      const { client, conn } = await pair();
      client.ws.send('aé😀z'); // bytes: a(1) é(2) 😀(4) z(1)
      const error = await conn.receiveText(5).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TooLargeError);
      expect(error).toMatchObject({ code: 'ERR_TOO_LARGE', partial: 'aé', size: 8, limit: 5 });
      client.ws.send('fits');
      expect(await conn.receiveText(4)).toBe('fits');
      client.ws.send(Buffer.from([1, 2]));
      await expect(conn.receiveText(100)).rejects.toBeInstanceOf(MessageTypeError);
      expect(conn.state).toBe('open');
    });

    it('receiveBinary fills the buffer; a longer message is TooLargeError, a text one MessageTypeError', async () => {
      const { client, conn } = await pair();
      const buffer = new Uint8Array(4);
      client.ws.send(Buffer.from([1, 2, 3]));
      expect(await conn.receiveBinary(buffer)).toBe(3);
      client.ws.send(Buffer.from([9, 8, 7, 6, 5]));
      await expect(conn.receiveBinary(buffer)).rejects.toMatchObject({ name: 'TooLargeError', partial: 4, size: 5 });
      expect([...buffer]).toEqual([9, 8, 7, 6]);
      client.ws.send('text');
      await expect(conn.receiveBinary(buffer)).rejects.toMatchObject({ name: 'MessageTypeError', actual: 'text' });
    });
  });

  it('closes with 1009 when a message exceeds maxMessageBytes and reports ERR_TOO_LARGE', async () => {
    const { client, conn } = await pair({ maxMessageBytes: 1024 });
    client.ws.send(Buffer.alloc(1024));
    await conn.receiveMessage();
    client.ws.send(Buffer.alloc(1025));
    expect(await client.waitForClose()).toBe(1009);
    expect((await conn.done).error?.code).toBe('ERR_TOO_LARGE');
  });

  it('serialises overlapping receives: each gets the next message in order', async () => {
    const { client, conn } = await pair();
    const first = conn.receiveText(100);
    const second = conn.receiveText(100);
    client.ws.send('one');
    client.ws.send('two');
    expect(await Promise.all([first, second])).toEqual(['one', 'two']);
  });

  it('answers a protocol violation (unmasked client frame) with 1002 and ERR_PROTOCOL_VIOLATION', async () => {
    started = await startEndpoint({});
    const raw = await rawClient(started.url);
    await waitFor(() => started!.conns.length === 1);
    const conn = started.conns[0] as WebSocketConnection<unknown>;
    let reply = Buffer.alloc(0);
    raw.on('data', (chunk: Buffer) => (reply = Buffer.concat([reply, chunk])));
    raw.write(Buffer.from([0x81, 0x02, 0x68, 0x69])); // FIN + text, no mask bit
    await waitFor(() => reply.length >= 4, { what: 'the close frame' });
    expect(reply[0]).toBe(0x88);
    expect(reply.readUInt16BE(2)).toBe(1002);
    expect((await conn.done).error?.code).toBe('ERR_PROTOCOL_VIOLATION');
    raw.destroy();
  });

  it('reports a close frame with an invalid code as 1005 (seehuhn GetStatus) after answering 1002', async () => {
    started = await startEndpoint({});
    const raw = await rawClient(started.url);
    await waitFor(() => started!.conns.length === 1);
    const conn = started.conns[0] as WebSocketConnection<unknown>;
    let reply = Buffer.alloc(0);
    raw.on('data', (chunk: Buffer) => (reply = Buffer.concat([reply, chunk])));
    // Masked close frame (zero mask key) with code 999.
    raw.write(Buffer.from([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe7]));
    await waitFor(() => reply.length >= 4, { what: 'the close frame' });
    expect(reply.readUInt16BE(2)).toBe(1002);
    expect(await conn.closed).toEqual({ code: 1005, reason: '' });
    raw.destroy();
  });

  it('reports a handler that throws as a server error; the connection stays usable', async () => {
    const errors: Error[] = [];
    started = await startEndpoint(
      { mode: 'text' },
      () => {
        throw new Error('handler bug');
      },
      (server) => server.on('error', (error) => errors.push(error)),
    );
    const client = await PlainClient.connect(started.url);
    await waitFor(() => errors.length === 1, { what: 'the reported error' });
    expect(errors[0]?.message).toBe('handler bug');
    await started.conns[0]?.send('still here');
    await client.waitForMessages(1);
  });

  it('logs through the fastify logger at the endpoint logLevel (silent = off)', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const stream = { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) };
    const { startServer } = await import('../helpers/start-server.js');
    const s = await startServer({ logger: { level: 'info', stream } }, (server) => {
      server.websocket('/loud', { logLevel: 'debug' }, () => undefined);
      server.websocket('/quiet', { logLevel: 'silent' }, () => undefined);
    });
    try {
      const loud = await PlainClient.connect(`${s.wsUrl}/loud`);
      const quiet = await PlainClient.connect(`${s.wsUrl}/quiet`);
      await waitFor(() => lines.some((l) => l.msg === 'websocket connection open'), { what: 'a log line' });
      const opened = lines.filter((l) => l.msg === 'websocket connection open');
      expect(opened).toHaveLength(1);
      expect(opened[0]).toMatchObject({ endpoint: '/loud', remoteAddress: expect.stringMatching(/^127\.0\.0\.1:/) });
      loud.ws.close();
      quiet.ws.close();
    } finally {
      await s.close();
    }
  });

  it('lives on after its handler returned, and server.close() ends it with 1001', async () => {
    started = await startEndpoint({ mode: 'text' }, () => undefined);
    const client = await PlainClient.connect(started.url);
    await waitFor(() => started!.conns.length === 1);
    const conn = started.conns[0] as WebSocketConnection<unknown>;
    await conn.send('later');
    await client.waitForMessages(1);
    await started.close();
    started = undefined;
    expect(await client.waitForClose()).toBe(1001);
    expect(conn.state).toBe('closed');
  });
});

/** Completes the handshake over raw TCP and then ignores everything (never answers a close). */
async function rawClient(wsUrl: string): Promise<Socket> {
  const url = new URL(wsUrl);
  const socket = connect(Number(url.port), url.hostname);
  let head = '';
  socket.on('data', (chunk: Buffer) => (head += chunk.toString('latin1')));
  socket.write(
    `GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
  );
  await waitFor(() => head.includes('\r\n\r\n'), { what: 'the 101' });
  expect(head.startsWith('HTTP/1.1 101')).toBe(true);
  return socket;
}
