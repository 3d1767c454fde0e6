import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { decode, encodeFrame } from '../../src/codecs/sio.js';
import type { CreateServerOptions } from '../../src/server.js';
import type { Conn } from '../../src/session/conn.js';
import type { DisconnectInfo } from '../../src/hub/results.js';
import { LegacyWsClient } from '../helpers/legacy-ws.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';

let started: StartedServer | undefined;
const clients: LegacyWsClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.ws.terminate();
  await started?.close();
  started = undefined;
});

interface Recorded {
  readonly conns: Conn[];
  readonly disconnects: { conn: Conn; info: DisconnectInfo }[];
}

/** A server that echoes every message and records sessions and disconnects. */
async function echoServer(options: CreateServerOptions = {}): Promise<StartedServer & Recorded> {
  const recorded: Recorded = { conns: [], disconnects: [] };
  started = await startServer(options, (server) => {
    server.onConnect((conn) => recorded.conns.push(conn));
    server.onMessage((conn, data) => conn.send(data));
    server.onDisconnect((conn, info) => recorded.disconnects.push({ conn, info }));
  });
  return { ...started, ...recorded };
}

async function connect(path = '/socket.io/websocket'): Promise<LegacyWsClient> {
  const client = await LegacyWsClient.connect(`${started?.wsUrl}${path}`);
  clients.push(client);
  return client;
}

/** Answers every heartbeat the server sends, as the 0.6 client does. */
function echoHeartbeats(client: LegacyWsClient): void {
  client.ws.on('message', (data) => {
    const result = decode(data.toString());
    if (!result.ok) return;
    for (const message of result.value) {
      if (message.type === 'heartbeat') client.send(encodeFrame(`~h~${message.data}`));
    }
  });
}

/** Status of a refused upgrade, or 101 if it was accepted. */
async function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  const ws = new WebSocket(url, { headers });
  const status = await new Promise<number>((resolve, reject) => {
    ws.once('unexpected-response', (_req, res: IncomingMessage) => resolve(res.statusCode ?? 0));
    ws.once('upgrade', () => resolve(101));
    ws.once('error', reject);
  });
  ws.terminate();
  return status;
}

describe('websocket transport', () => {
  it('sends the session id first and opens a session with transport and address', async () => {
    const server = await echoServer();
    const client = await connect();
    expect(client.sessionId).toMatch(/^[0-9A-Za-z]{16}$/);
    expect(client.payloads[0]).toBe(encodeFrame(client.sessionId));
    await waitFor(() => server.conns.length === 1);
    const conn = server.conns[0];
    expect(conn?.sessionId).toBe(client.sessionId);
    expect(conn?.transport).toBe('websocket');
    expect(conn?.remoteAddress).toBe('127.0.0.1');
    expect(server.server.getConn(client.sessionId)).toBe(conn);
  });

  it.each([
    ['text', 'hello', { type: 'text', data: 'hello' }],
    ['unicode', 'é 日本 😀', { type: 'text', data: 'é 日本 😀' }],
    ['text containing ~m~', 'a~m~b ~m~5~m~hello', { type: 'text', data: 'a~m~b ~m~5~m~hello' }],
    ['JSON', '~j~{"a":[1,"日本 😀"],"b":null}', { type: 'json', data: { a: [1, '日本 😀'], b: null } }],
  ])('echoes %s', async (_what, frame, expected) => {
    await echoServer();
    const client = await connect();
    client.send(encodeFrame(frame));
    expect(await client.nextMessage()).toEqual(expected);
  });

  it('handles every frame of one websocket message, heartbeat echoes included', async () => {
    await echoServer();
    const client = await connect();
    client.send(encodeFrame('~h~1') + encodeFrame('one') + encodeFrame('~j~{"two":2}'));
    expect(await client.nextMessage()).toEqual({ type: 'text', data: 'one' });
    expect(await client.nextMessage()).toEqual({ type: 'json', data: { two: 2 } });
  });

  it('keeps an answering client across several heartbeats', async () => {
    const server = await echoServer({ heartbeatIntervalMs: 40, heartbeatTimeoutMs: 1_000 });
    const client = await connect();
    echoHeartbeats(client);
    await client.nextMessage((m) => m.type === 'heartbeat' && m.data === '3', 3_000);
    expect(server.conns[0]?.state).toBe('open');
    expect(server.disconnects).toEqual([]);
  });

  it('closes a client that does not answer a heartbeat', async () => {
    const server = await echoServer({ heartbeatIntervalMs: 40, heartbeatTimeoutMs: 80 });
    const client = await connect();
    await client.nextMessage((m) => m.type === 'heartbeat' && m.data === '1');
    await waitFor(() => client.closeCode !== undefined, { what: 'the close' });
    expect(client.closeCode).toBe(1001);
    await waitFor(() => server.disconnects.length === 1);
    expect(server.disconnects[0]?.info.reason).toBe('heartbeat-timeout');
  });

  it('re-attaches within the reconnect window and gets what was sent meanwhile, in order, as one payload', async () => {
    const server = await echoServer({ reconnectWindowMs: 5_000 });
    const client = await connect();
    await waitFor(() => server.conns.length === 1);
    const conn = server.conns[0] as Conn;
    client.ws.terminate();
    await waitFor(() => conn.state === 'detached', { what: 'the detach' });
    for (const value of ['one', { two: 2 }, 'three 😀']) expect(conn.send(value)).toEqual({ ok: true });
    const again = await LegacyWsClient.reattach(
      `${started?.wsUrl}/socket.io/websocket/${client.sessionId}`,
      client.sessionId,
    );
    clients.push(again);
    await waitFor(() => again.payloads.length > 0);
    expect(again.payloads[0]).toBe(encodeFrame('one') + encodeFrame('~j~{"two":2}') + encodeFrame('three 😀'));
    expect(conn.state).toBe('open');
    again.send(encodeFrame('still here'));
    expect(await again.nextMessage((m) => m.data === 'still here')).toEqual({ type: 'text', data: 'still here' });
    expect(server.conns).toHaveLength(1);
    expect(server.disconnects).toEqual([]);
  });

  it('ends the session once the window passes, and refuses a late re-attach', async () => {
    const server = await echoServer({ reconnectWindowMs: 60 });
    const client = await connect();
    await waitFor(() => server.conns.length === 1);
    client.send(encodeFrame('bye'));
    await client.nextMessage();
    client.close();
    await waitFor(() => server.disconnects.length === 1, { what: 'the disconnect' });
    expect(server.disconnects[0]?.info).toEqual({ reason: 'window-expired', lostMessages: 0 });
    expect(server.server.getConn(client.sessionId)).toBeUndefined();
    expect(await upgradeStatus(`${started?.wsUrl}/socket.io/websocket/${client.sessionId}`)).toBe(404);
    expect(server.disconnects).toHaveLength(1);
  });

  it('broadcastExcept reaches every session but the excluded one', async () => {
    const server = await echoServer();
    const [a, b, c] = [await connect(), await connect(), await connect()];
    await waitFor(() => server.conns.length === 3);
    expect(server.server.broadcastExcept(a.sessionId, 'not for a')).toEqual({ delivered: 2, refused: 0 });
    expect(server.server.broadcast({ all: true })).toEqual({ delivered: 3, refused: 0 });
    for (const client of [b, c]) {
      expect(await client.nextMessage()).toEqual({ type: 'text', data: 'not for a' });
      expect(await client.nextMessage()).toEqual({ type: 'json', data: { all: true } });
    }
    expect(await a?.nextMessage()).toEqual({ type: 'json', data: { all: true } });
    expect(a?.messages).toEqual([]);
  });

  it('refuses a session past maxConnections with 503, and takes one when a place frees', async () => {
    const server = await echoServer({ maxConnections: 1, reconnectWindowMs: 0 });
    const first = await connect();
    expect(await upgradeStatus(`${started?.wsUrl}/socket.io/websocket`)).toBe(503);
    first.close();
    await waitFor(() => server.disconnects.length === 1);
    expect((await connect()).sessionId).toMatch(/^[0-9A-Za-z]{16}$/);
  });

  it('asks the authorization hook once per upgrade, and a refusal is 401', async () => {
    const seen: string[] = [];
    await echoServer({
      authorize: (req) => {
        seen.push(req.url ?? '');
        return req.headers['x-token'] === 'yes';
      },
    });
    expect(await upgradeStatus(`${started?.wsUrl}/socket.io/websocket`, { 'X-Token': 'no' })).toBe(401);
    expect(await upgradeStatus(`${started?.wsUrl}/socket.io/websocket`, { 'X-Token': 'yes' })).toBe(101);
    expect(seen).toEqual(['/socket.io/websocket', '/socket.io/websocket']);
  });

  it('refuses an origin outside the allow-list with 403, but never a same-origin handshake (allowedHosts set)', async () => {
    await echoServer({ origins: ['example.com:*'], allowedHosts: ['127.0.0.1:*'] });
    const url = `${started?.wsUrl}/socket.io/websocket`;
    expect(await upgradeStatus(url, { Origin: 'http://evil.test' })).toBe(403);
    expect(await upgradeStatus(url, { Origin: 'http://example.com:8080' })).toBe(101);
    expect(await upgradeStatus(url, { Origin: started?.baseUrl ?? '' })).toBe(101);
    expect(await upgradeStatus(url)).toBe(101);
  });

  it('closes with 1007 on a malformed payload and 1003 on a binary message', async () => {
    const server = await echoServer();
    const bad = await connect();
    bad.send('~m~9~m~short');
    await waitFor(() => bad.closeCode !== undefined);
    expect(bad.closeCode).toBe(1007);
    const binary = await connect();
    binary.ws.send(Buffer.from(encodeFrame('x')));
    await waitFor(() => binary.closeCode !== undefined);
    expect(binary.closeCode).toBe(1003);
    await waitFor(() => server.disconnects.some((d) => d.info.reason === 'protocol-error'));
  });

  it('answers 404 to an unknown transport and to an upgrade outside any endpoint', async () => {
    await echoServer();
    expect(await upgradeStatus(`${started?.wsUrl}/socket.io/nope`)).toBe(404);
    expect(await upgradeStatus(`${started?.wsUrl}/elsewhere`)).toBe(404);
    const ws = new WebSocket(`${started?.wsUrl}/socket.io/websocket`);
    await once(ws, 'open');
    ws.terminate();
  });
});
