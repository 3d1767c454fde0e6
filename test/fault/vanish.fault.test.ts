/**
 * Clients that vanish or stall on real sockets: mid-stream, mid-POST, mid-handshake,
 * slowloris heads and bodies, and half-open websockets, htmlfile and xhr-multipart streams
 * that answer no heartbeat. Each
 * ends in a documented way (a timeout answer, a counted loss, a closed session) and the
 * server goes on serving every well-behaved client.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/codecs/sio.js';
import type { DisconnectInfo } from '../../src/hub/results.js';
import { watchProcessFailures } from '../helpers/process-failures.js';
import { rawConnect, rawRequest } from '../helpers/raw-http.js';
import { rawWebSocket } from '../helpers/raw-ws.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import type { CreateServerOptions } from '../../src/server.js';
import { waitFor } from '../helpers/wait-for.js';
import { expectAllClientsWork, installEndpointEchoes, PLAIN_ECHO_PATH } from '../helpers/well-behaved.js';

// A window long enough for the well-behaved polling client's poll to follow its handshake on a
// loaded machine (a shorter one expired its session in between: 404), short enough to wait for.
const FAST = { reconnectWindowMs: 1_000, heartbeatIntervalMs: 0, pollDurationMs: 1_000 } as const;

describe('clients that vanish or stall', () => {
  let started: StartedServer;
  let port: number;
  let failures: ReturnType<typeof watchProcessFailures>;
  const closes: DisconnectInfo[] = [];
  const messages: unknown[] = [];

  async function start(options: CreateServerOptions = {}): Promise<void> {
    failures = watchProcessFailures();
    closes.length = 0;
    messages.length = 0;
    started = await startServer({ ...FAST, ...options }, (server) => {
      server.onMessage((conn, data) => {
        messages.push(data);
        conn.send(data);
      });
      server.onDisconnect((_conn, info) => closes.push(info));
      server.on('error', () => undefined);
      installEndpointEchoes(server);
    });
    port = Number(new URL(started.baseUrl).port);
  }

  async function openPollSession(): Promise<string> {
    return (await (await fetch(`${started.baseUrl}/socket.io/xhr-polling//${Date.now()}`)).text()).slice(-16);
  }

  afterEach(async () => {
    // The server is closed whatever the checks say: a server left running would report its
    // sessions' ends into the next test's \`closes\`.
    try {
      await expectAllClientsWork(started.baseUrl);
      expect(failures.list()).toEqual([]);
    } finally {
      failures.stop();
      await started.close();
    }
  });

  it('mid-stream: a websocket that vanishes while frames flow; later sends are counted lost', async () => {
    await start();
    const client = await rawWebSocket(port, '/socket.io/websocket', 20);
    const conn = [...started.server.registry.values()][0]!;
    const stream = setInterval(() => conn.send('tick'), 1);
    await waitFor(() => client.received().length > 2_000, { what: 'some of the stream' });
    client.socket.destroy();
    await waitFor(() => conn.state === 'detached', { what: 'the session to notice' });
    clearInterval(stream);
    for (let i = 0; i < 5; i++) expect(conn.send(`after ${i}`).ok).toBe(true);
    await waitFor(() => closes.length === 1, { what: 'the window to expire' });
    expect(closes[0]!.reason).toBe('window-expired');
    expect(closes[0]!.lostMessages).toBeGreaterThanOrEqual(5);
    expect(started.server.connectionCount).toBe(0);
  });

  it.each(['htmlfile', 'xhr-multipart'] as const)(
    'mid-stream: a %s stream that vanishes while frames flow; later sends are counted lost',
    async (transport) => {
      await start();
      const path = transport === 'htmlfile' ? `/socket.io/htmlfile//${Date.now()}` : '/socket.io/xhr-multipart/';
      const socket = await rawConnect(port);
      const received: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => received.push(chunk));
      socket.on('error', () => undefined);
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      await waitFor(() => started.server.connectionCount === 1, { what: 'the session' });
      const conn = [...started.server.registry.values()][0]!;
      const stream = setInterval(() => conn.send('tick'), 1);
      await waitFor(() => Buffer.concat(received).length > 2_000, { what: 'some of the stream' });
      socket.destroy();
      await waitFor(() => conn.state === 'detached', { what: 'the session to notice' });
      clearInterval(stream);
      for (let i = 0; i < 5; i++) expect(conn.send(`after ${i}`).ok).toBe(true);
      await waitFor(() => closes.length === 1, { what: 'the window to expire' });
      expect(closes[0]!.reason).toBe('window-expired');
      expect(closes[0]!.lostMessages).toBeGreaterThanOrEqual(5);
      expect(started.server.connectionCount).toBe(0);
    },
  );

  it('mid-POST: a send whose body never completes delivers nothing and harms no session', async () => {
    await start();
    const sessionId = await openPollSession();
    const socket = await rawConnect(port);
    socket.on('error', () => undefined);
    const body = 'data=' + encodeURIComponent(encodeFrame('never whole'));
    socket.write(
      `POST /socket.io/xhr-polling/${sessionId}/send HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
        `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length + 50}\r\n\r\n${body}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(messages).toEqual([]);
    expect(started.server.getConn(sessionId)?.isOpen).toBe(true);
  });

  it('mid-handshake: partial upgrade heads, an upgrade dropped before its 101 is read, a dropped first poll', async () => {
    await start();
    const partial = await rawConnect(port);
    partial.on('error', () => undefined);
    partial.write('GET /socket.io/websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConn');
    const dropped = await rawWebSocket(port, '/socket.io/websocket');
    dropped.socket.destroy();
    partial.destroy();
    const firstPoll = await rawConnect(port);
    firstPoll.on('error', () => undefined);
    firstPoll.write(`GET /socket.io/xhr-polling//${Date.now()} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    firstPoll.destroy();
    await waitFor(() => started.server.connectionCount === 0, { what: 'every half-made session to expire' });
    expect(closes.every((info) => info.reason === 'window-expired')).toBe(true);
  });

  it('mid-handshake on sac-sock and a plain endpoint: every dropped upgrade gives its place back', async () => {
    await start({ maxConnections: 50 });
    for (const path of ['/socket', PLAIN_ECHO_PATH]) {
      const head =
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';
      const drops = Array.from({ length: 20 }, async (_, i) => {
        const socket = await rawConnect(port);
        socket.on('error', () => undefined);
        // Half send a partial head, half a whole one and vanish before reading the 101.
        socket.write(i % 2 === 0 ? head.slice(0, 40 + i) : head);
        socket.destroy();
      });
      await Promise.all(drops);
      const accepted = await rawWebSocket(port, path);
      accepted.socket.destroy();
    }
    await waitFor(() => started.server.budget.total === 0, { what: 'every place given back' });
    expect(started.server.sacSock?.size).toBe(0);
  });

  it('slowloris head: a request head trickling in gets 408 ERR_REQUEST_TIMEOUT while others are served', async () => {
    await start({ headersTimeoutMs: 300, requestTimeoutMs: 600 });
    const socket = await rawConnect(port);
    const answer: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => answer.push(chunk));
    socket.on('error', () => undefined);
    socket.write('GET /socket.io/xhr-polling//1 HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const drip = setInterval(() => socket.writable && socket.write('X-Drip: 1\r\n'), 50);
    const began = Date.now();
    await expectAllClientsWork(started.baseUrl);
    await waitFor(() => socket.destroyed || socket.readableEnded, {
      timeoutMs: 3_000,
      what: 'the slow head to be cut',
    });
    clearInterval(drip);
    expect(Date.now() - began).toBeLessThan(3_000);
    const text = Buffer.concat(answer).toString();
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(text).toContain('"code":"ERR_REQUEST_TIMEOUT"');
  });

  it('slowloris body: a POST body trickling in gets 408 and delivers nothing', async () => {
    await start({ headersTimeoutMs: 300, requestTimeoutMs: 600 });
    const sessionId = await openPollSession();
    const poll = fetch(`${started.baseUrl}/socket.io/xhr-polling/${sessionId}/${Date.now()}`); // keeps it alive
    const socket = await rawConnect(port);
    const answer: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => answer.push(chunk));
    socket.on('error', () => undefined);
    socket.write(
      `POST /socket.io/xhr-polling/${sessionId}/send HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
        'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 200\r\n\r\ndata=',
    );
    const drip = setInterval(() => socket.writable && socket.write('a'), 50);
    await waitFor(() => socket.destroyed || socket.readableEnded, {
      timeoutMs: 3_000,
      what: 'the slow body to be cut',
    });
    clearInterval(drip);
    expect(Buffer.concat(answer).toString()).toMatch(/^HTTP\/1\.1 408 [^]*ERR_REQUEST_TIMEOUT/);
    expect(messages).toEqual([]);
    await poll;
  });

  it('half-open: a websocket that answers no heartbeat is closed by the heartbeat deadline', async () => {
    await start({ heartbeatIntervalMs: 100, heartbeatTimeoutMs: 150 });
    const client = await rawWebSocket(port, '/socket.io/websocket', 20);
    client.socket.pause(); // reads nothing, answers nothing: a peer that is gone without a FIN
    await waitFor(() => closes.length === 1, { timeoutMs: 3_000, what: 'the heartbeat deadline' });
    expect(closes[0]!.reason).toBe('heartbeat-timeout');
    expect(closes[0]!.error?.code).toBe('ERR_HEARTBEAT_TIMEOUT');
    client.socket.destroy();
  });

  it.each(['htmlfile', 'xhr-multipart'] as const)(
    'half-open: a %s stream whose client stops reading and echoing is closed by the heartbeat deadline',
    async (transport) => {
      // A long window: only the heartbeat deadline may end this session, however slow the machine.
      await start({ heartbeatIntervalMs: 100, heartbeatTimeoutMs: 150, reconnectWindowMs: 5_000 });
      const path = transport === 'htmlfile' ? `/socket.io/htmlfile//${Date.now()}` : '/socket.io/xhr-multipart/';
      const socket = await rawConnect(port);
      socket.on('error', () => undefined);
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      await waitFor(() => started.server.connectionCount === 1, { what: 'the session' });
      // Reads nothing and POSTs no echo: the stream stays open, the peer is as good as gone.
      socket.pause();
      await waitFor(() => closes.length === 1, { timeoutMs: 8_000, what: 'the heartbeat deadline' });
      expect(closes[0]!.reason).toBe('heartbeat-timeout');
      expect(closes[0]!.error?.code).toBe('ERR_HEARTBEAT_TIMEOUT');
      expect(started.server.connectionCount).toBe(0);
      socket.destroy();
    },
  );

  it('a raw request answered with a documented refusal leaves the server healthy', async () => {
    await start();
    const answer = await rawRequest(port, Buffer.from('GET /socket.io/websocket HTTP/1.1\r\nHost: x\r\n\r\n'), 2_000);
    expect(answer.status).toBe(400);
  });
});
