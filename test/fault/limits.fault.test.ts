/**
 * Each limit of the Limits table in docs/limits.md, hit on a real socket: the documented status or
 * close code, a JSON body where HTTP allows one, and a server that goes on serving.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { encodeFrame } from '../../src/codecs/sio.js';
import { createServer, type CreateServerOptions } from '../../src/server.js';
import { LegacyWsClient } from '../helpers/legacy-ws.js';
import { rawRequest, type RawAnswer } from '../helpers/raw-http.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';
import { expectAllClientsWork, installEchoes, PLAIN_ECHO_PATH } from '../helpers/well-behaved.js';
import { PlainClient } from '../helpers/plain-ws.js';
import { SacSockTestClient } from '../helpers/sac-sock-client.js';

function json(answer: RawAnswer): { code: string; message: string } {
  return JSON.parse(answer.body.toString('utf8')) as { code: string; message: string };
}

describe('limits, hit on real sockets', () => {
  let started: StartedServer;
  let port: number;
  async function start(options: CreateServerOptions): Promise<void> {
    started = await startServer({ heartbeatIntervalMs: 0, ...options }, installEchoes);
    port = Number(new URL(started.baseUrl).port);
  }
  const get = (path: string, headers = '') =>
    rawRequest(port, Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\n`), 3_000);
  afterEach(() => started.close());

  it('maxConnections: the next poll gets 503 ERR_SERVER_FULL, the next websocket is refused before its 101', async () => {
    await start({ maxConnections: 2 });
    await get(`/socket.io/xhr-polling//${Date.now()}`);
    await get(`/socket.io/xhr-polling//${Date.now()}`);
    const refused = await get(`/socket.io/xhr-polling//${Date.now()}`);
    expect(refused.status).toBe(503);
    expect(json(refused).code).toBe('ERR_SERVER_FULL');
    const upgrade = await get(
      '/socket.io/websocket',
      'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n',
    );
    expect(upgrade.status).toBe(503);
    expect(json(upgrade).code).toBe('ERR_SERVER_FULL');
    expect(started.server.connectionCount).toBe(2);
  });

  it('maxConnections is one budget: 0.6 sessions, sac-sock sockets and plain connections count alike', async () => {
    await start({ maxConnections: 3 });
    const upgradeHeaders = (path: string) =>
      get(
        path,
        'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n',
      );
    await get(`/socket.io/xhr-polling//${Date.now()}`);
    const sacSock = await SacSockTestClient.connect(`${started.wsUrl}/socket`);
    const plain = await PlainClient.connect(`${started.wsUrl}${PLAIN_ECHO_PATH}`);
    expect(started.server.budget.total).toBe(3);
    for (const path of ['/socket', PLAIN_ECHO_PATH, '/socket.io/websocket']) {
      const refused = await upgradeHeaders(path);
      expect(refused.status, path).toBe(503);
      expect(json(refused).code).toBe('ERR_SERVER_FULL');
    }
    expect((await get(`/socket.io/xhr-polling//${Date.now()}`)).status).toBe(503);
    // A closed socket frees its place at once.
    sacSock.close();
    await waitFor(() => started.server.budget.total === 2, { what: 'the sac-sock place freed' });
    const next = await SacSockTestClient.connect(`${started.wsUrl}/socket`);
    plain.ws.terminate();
    await waitFor(() => started.server.budget.total === 2, { what: 'the plain place freed' });
    next.ws.terminate();
    await waitFor(() => started.server.budget.total === 1, { what: 'only the session left' });
  });

  it('maxConnectionsPerAddress counts sac-sock sockets: 429 on the next session or socket', async () => {
    await start({ maxConnectionsPerAddress: 1 });
    const sacSock = await SacSockTestClient.connect(`${started.wsUrl}/socket`);
    const refused = await get(`/socket.io/xhr-polling//${Date.now()}`);
    expect(refused.status).toBe(429);
    expect(json(refused).code).toBe('ERR_TOO_MANY_SESSIONS_FROM_ADDRESS');
    const upgrade = await get(
      '/socket',
      'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n',
    );
    expect(upgrade.status).toBe(429);
    expect(json(upgrade).code).toBe('ERR_TOO_MANY_SESSIONS_FROM_ADDRESS');
    sacSock.close();
    await waitFor(() => started.server.budget.total === 0, { what: 'the place freed' });
    expect((await get(`/socket.io/xhr-polling//${Date.now()}`)).status).toBe(200);
  });

  it('maxConnectionsPerAddress: 429 ERR_TOO_MANY_SESSIONS_FROM_ADDRESS', async () => {
    await start({ maxConnectionsPerAddress: 1 });
    await get(`/socket.io/xhr-polling//${Date.now()}`);
    const refused = await get(`/socket.io/xhr-polling//${Date.now()}`);
    expect(refused.status).toBe(429);
    expect(json(refused).code).toBe('ERR_TOO_MANY_SESSIONS_FROM_ADDRESS');
  });

  it('maxPayloadBytes on a POST: 413 on the declared length, before any body byte is sent', async () => {
    await start({ maxPayloadBytes: 1_000 });
    const sessionId = (await get(`/socket.io/xhr-polling//${Date.now()}`)).body.toString().slice(-16);
    const head = `POST /socket.io/xhr-polling/${sessionId}/send HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000\r\n\r\n`;
    const answer = await rawRequest(port, Buffer.from(head), 2_000);
    expect(answer.status).toBe(413);
    expect(json(answer).code).toBe('ERR_TOO_LARGE');
    // Streamed without a length: cut off as it crosses the cap.
    const chunked = `POST /socket.io/xhr-polling/${sessionId}/send HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n`;
    const streamed = await rawRequest(port, Buffer.from(chunked + `7d0\r\n${'a'.repeat(2000)}\r\n`), 2_000);
    expect(streamed.status).toBe(413);
  });

  it('maxPayloadBytes on a websocket message: close 1009', async () => {
    await start({ maxPayloadBytes: 1_000 });
    const client = await LegacyWsClient.connect(`${started.wsUrl}/socket.io/websocket`);
    client.send(encodeFrame('x'.repeat(2_000)));
    await waitFor(() => client.closeCode !== undefined, { what: 'the close' });
    expect(client.closeCode).toBe(1009);
  });

  it('maxFrameLength: 413 ERR_TOO_LARGE on a POST, close 1009 on a websocket', async () => {
    await start({ maxFrameLength: 10 });
    const sessionId = (await get(`/socket.io/xhr-polling//${Date.now()}`)).body.toString().slice(-16);
    const body = 'data=' + encodeURIComponent(encodeFrame('eleven char'));
    const post = await rawRequest(
      port,
      Buffer.from(
        `POST /socket.io/xhr-polling/${sessionId}/send HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      ),
      2_000,
    );
    expect(post.status).toBe(413);
    expect(json(post).code).toBe('ERR_TOO_LARGE');
    const client = await LegacyWsClient.connect(`${started.wsUrl}/socket.io/websocket`);
    client.send(encodeFrame('eleven char'));
    await waitFor(() => client.closeCode !== undefined, { what: 'the close' });
    expect(client.closeCode).toBe(1009);
  });

  it('maxHeaderBytes: 431 ERR_HEADERS_TOO_LARGE', async () => {
    await start({ maxHeaderBytes: 2_048 });
    const answer = await get('/socket.io/socket.io.js', `X-Big: ${'x'.repeat(3_000)}\r\n`);
    expect(answer.status).toBe(431);
    expect(json(answer).code).toBe('ERR_HEADERS_TOO_LARGE');
  });

  it('invalid UTF-8 in a websocket text message: close 1007', async () => {
    await start({});
    const ws = new WebSocket(`${started.wsUrl}/socket.io/websocket`);
    await new Promise((resolve) => ws.once('message', resolve));
    const closed = new Promise<number>((resolve) => ws.once('close', resolve));
    ws.send(Buffer.from([0x7e, 0x6d, 0x7e, 0x31, 0x7e, 0x6d, 0x7e, 0xff]), { binary: false });
    expect(await closed).toBe(1007);
    await expectAllClientsWork(started.baseUrl);
  });
});

describe('limit options', () => {
  it('refuses values without a sane meaning with ERR_INVALID_OPTION', () => {
    for (const options of [
      { requestTimeoutMs: -1 },
      { headersTimeoutMs: 5_000, requestTimeoutMs: 1_000 },
      { maxHeaderBytes: 10 },
    ]) {
      expect(() => createServer(options)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    }
  });
});
