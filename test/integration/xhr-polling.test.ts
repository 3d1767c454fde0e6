import { rawRequest, type RawAnswer } from '../helpers/raw-http.js';
import { once } from 'node:events';
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/codecs/sio.js';
import type { CreateServerOptions } from '../../src/server.js';
import type { Conn } from '../../src/session/conn.js';
import type { DisconnectInfo } from '../../src/hub/results.js';
import { LegacyPollClient } from '../helpers/legacy-poll-raw.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';

let started: StartedServer | undefined;

afterEach(async () => {
  await started?.close();
  started = undefined;
});

interface Recorded {
  readonly conns: Conn[];
  readonly messages: unknown[];
  readonly disconnects: DisconnectInfo[];
}

async function echoServer(options: CreateServerOptions = {}): Promise<StartedServer & Recorded> {
  const recorded: Recorded = { conns: [], messages: [], disconnects: [] };
  started = await startServer(options, (server) => {
    server.onConnect((conn) => recorded.conns.push(conn));
    server.onMessage((conn, data) => {
      recorded.messages.push(data);
      conn.send(data);
    });
    server.onDisconnect((_conn, info) => recorded.disconnects.push(info));
  });
  return { ...started, ...recorded };
}

async function openClient(
  options: CreateServerOptions = {},
): Promise<{ server: StartedServer & Recorded; client: LegacyPollClient }> {
  const server = await echoServer(options);
  const client = new LegacyPollClient(server.baseUrl);
  const answer = await client.open();
  expect(answer.status).toBe(200);
  return { server, client };
}

/** A send with the Host (and Origin) a rebound DNS name would carry: fetch cannot set Host. */
function hostRequest(baseUrl: string, sessionId: string, host: string, origin?: string): Promise<RawAnswer> {
  const body = 'data=' + encodeURIComponent(encodeFrame('x'));
  const originLine = origin === undefined ? '' : `Origin: ${origin}\r\n`;
  const request =
    `POST /socket.io/xhr-polling/${sessionId}/send HTTP/1.1\r\nHost: ${host}\r\n${originLine}` +
    `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
  return rawRequest(Number(new URL(baseUrl).port), Buffer.from(request), 5_000);
}

describe('xhr-polling transport', () => {
  it('opens a session on an empty session segment and answers with the id alone', async () => {
    const server = await echoServer();
    const client = new LegacyPollClient(server.baseUrl);
    const answer = await client.open();
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('text/plain; charset=UTF-8');
    expect(client.sessionId).toMatch(/^[0-9A-Za-z]{16}$/);
    expect(answer.body).toBe(encodeFrame(client.sessionId));
    await waitFor(() => server.conns.length === 1);
    expect(server.conns[0]?.transport).toBe('xhr-polling');
    expect(server.conns[0]?.remoteAddress).toBe('127.0.0.1');
  });

  it.each([
    ['text', 'hello', 'hello'],
    ['unicode', 'é 日本 😀', 'é 日本 😀'],
    ['text containing ~m~', 'a~m~b ~m~5~m~x', 'a~m~b ~m~5~m~x'],
    ['text with + & = %', 'x+y z&=%', 'x+y z&=%'],
    ['JSON', '~j~{"a":"日本 😀"}', { a: '日本 😀' }],
  ])('echoes %s through a held poll', async (_what, frame, expected) => {
    const { server, client } = await openClient();
    const poll = client.pollMessages();
    await waitFor(() => server.conns[0]?.state === 'open', { what: 'the poll to be held' });
    const sent = await client.send(encodeFrame(frame));
    expect(sent).toMatchObject({ status: 200, body: 'ok' });
    expect(sent.headers.get('content-type')).toBe('text/plain; charset=UTF-8');
    const messages = await poll;
    expect(messages).toEqual([{ type: typeof expected === 'string' ? 'text' : 'json', data: expected }]);
  });

  it('handles every frame of a send, messages batched behind a heartbeat echo included', async () => {
    const { server, client } = await openClient();
    const sent = await client.send(encodeFrame('~h~1') + encodeFrame('one') + encodeFrame('~j~{"two":2}'));
    expect(sent.status).toBe(200);
    expect(server.messages).toEqual(['one', { two: 2 }]);
  });

  it('delivers what was sent between polls in order, as one payload', async () => {
    const { server, client } = await openClient();
    await waitFor(() => server.conns.length === 1);
    const conn = server.conns[0] as Conn;
    expect(conn.state).toBe('detached');
    for (const value of ['one', { two: 2 }, 'three 😀']) expect(conn.send(value)).toEqual({ ok: true });
    const answer = await client.poll();
    expect(answer.body).toBe(encodeFrame('one') + encodeFrame('~j~{"two":2}') + encodeFrame('three 😀'));
    expect(server.disconnects).toEqual([]);
  });

  it('answers a held poll with an empty 200 after pollDurationMs', async () => {
    const { server, client } = await openClient({ pollDurationMs: 80 });
    const before = Date.now();
    const answer = await client.poll();
    expect(answer).toMatchObject({ status: 200, body: '' });
    expect(Date.now() - before).toBeGreaterThanOrEqual(70);
    expect(server.disconnects).toEqual([]);
  });

  it('ends the session when no poll comes within the window; the next poll is a non-200', async () => {
    const { server, client } = await openClient({ reconnectWindowMs: 60 });
    await waitFor(() => server.disconnects.length === 1, { what: 'the disconnect' });
    expect(server.disconnects[0]).toEqual({ reason: 'window-expired', lostMessages: 0 });
    const late = await client.poll();
    expect(late.status).toBe(404);
    expect(JSON.parse(late.body)).toMatchObject({ code: 'ERR_UNKNOWN_SESSION' });
    expect((await client.send(encodeFrame('x'))).status).toBe(404);
    expect(server.disconnects).toHaveLength(1);
  });

  it('answers an unknown transport and an empty one with 404 JSON', async () => {
    const server = await echoServer();
    const client = new LegacyPollClient(server.baseUrl);
    for (const path of ['/socket.io/nope//1', '/socket.io/', '/socket.io//x']) {
      const answer = await client.get(path);
      expect(answer.status).toBe(404);
      expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
      expect(JSON.parse(answer.body)).toEqual({ code: 'ERR_UNKNOWN_TRANSPORT', message: expect.any(String) });
    }
  });

  it('refuses a send without a session id, a malformed payload, and a body with no data field', async () => {
    const { server, client } = await openClient();
    const noSession = await client.request('/socket.io/xhr-polling//send', { method: 'POST', body: 'data=x' });
    expect(noSession.status).toBe(400);
    const malformed = await client.send('~m~9~m~short');
    expect(malformed.status).toBe(400);
    expect(JSON.parse(malformed.body)).toMatchObject({ code: 'ERR_MALFORMED_FRAME' });
    const noData = await client.request(`/socket.io/xhr-polling/${client.sessionId}/send`, {
      method: 'POST',
      body: 'other=1',
    });
    expect(noData.status).toBe(400);
    expect(server.messages).toEqual([]);
  });

  it('puts CORS headers on GET and POST for an allowed origin, and answers OPTIONS', async () => {
    const { client } = await openClient();
    const origin = 'http://elsewhere.test:3000';
    const held = client.poll({ Origin: origin });
    const sent = await client.send(encodeFrame('x'), { Origin: origin });
    expect(sent.headers.get('access-control-allow-origin')).toBe(origin);
    // `*:*` (the default) never grants credentials: no site may read a cookie-authorized session.
    expect(sent.headers.get('access-control-allow-credentials')).toBeNull();
    const polled = await held;
    expect(polled.headers.get('access-control-allow-origin')).toBe(origin);
    const preflight = await client.request(`/socket.io/xhr-polling/${client.sessionId}/send`, {
      method: 'OPTIONS',
      headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' },
    });
    expect(preflight.status).toBe(200);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(origin);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
  });

  it('credentials only for an origin an explicit allow-list names', async () => {
    const { client } = await openClient({ origins: ['example.com:*', '*:4000'] });
    const listed = await client.send(encodeFrame('x'), { Origin: 'http://example.com' });
    expect(listed.headers.get('access-control-allow-credentials')).toBe('true');
    const byPort = await client.send(encodeFrame('y'), { Origin: 'http://any.test:4000' });
    expect(byPort.status).toBe(200);
    expect(byPort.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('with an allow-list, the Host header alone never proves same-origin (DNS rebinding)', async () => {
    const { server, client } = await openClient({ origins: ['allowed.example:*'] });
    const rebound = await hostRequest(server.baseUrl, client.sessionId, 'evil.example', 'http://evil.example');
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.body.toString())).toMatchObject({ code: 'ERR_ORIGIN_REFUSED' });
  });

  it('allowedHosts refuses a foreign Host on every request with 403 ERR_HOST_REFUSED', async () => {
    const { server, client } = await openClient({ allowedHosts: ['127.0.0.1:*'] });
    const foreign = await hostRequest(server.baseUrl, client.sessionId, 'evil.example');
    expect(foreign.status).toBe(403);
    expect(JSON.parse(foreign.body.toString())).toMatchObject({ code: 'ERR_HOST_REFUSED' });
    expect((await client.send(encodeFrame('y'))).status).toBe(200);
  });

  it('refuses a foreign origin with 403 but never a same-origin POST once allowedHosts vouches for the Host', async () => {
    const { server, client } = await openClient({ origins: 'example.com:*', allowedHosts: ['127.0.0.1:*'] });
    const foreign = await client.send(encodeFrame('x'), { Origin: 'http://evil.test' });
    expect(foreign.status).toBe(403);
    expect(JSON.parse(foreign.body)).toMatchObject({ code: 'ERR_ORIGIN_REFUSED' });
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    // Chromium sends Origin on same-origin POSTs (docs/protocol/socketio-0.6.md §4.0): that
    // must pass.
    const same = await client.send(encodeFrame('same'), { Origin: server.baseUrl });
    expect(same.status).toBe(200);
    const listed = await client.send(encodeFrame('listed'), { Origin: 'http://example.com' });
    expect(listed.status).toBe(200);
    expect(server.messages).toEqual(['same', 'listed']);
  });

  it('refuses a new session past maxConnections with 503 JSON', async () => {
    const { client } = await openClient({ maxConnections: 1, pollDurationMs: 50 });
    const second = await new LegacyPollClient(client.baseUrl).open();
    expect(second.status).toBe(503);
    expect(JSON.parse(second.body)).toMatchObject({ code: 'ERR_SERVER_FULL' });
    expect((await client.poll()).status).toBe(200);
  });

  it('asks the authorization hook once per request; a refusal is 401', async () => {
    const seen: string[] = [];
    const server = await echoServer({
      pollDurationMs: 50,
      authorize: (req) => {
        seen.push(`${req.method} ${req.url?.replace(/\/\d+$/, '/<ts>')}`);
        return req.headers['x-token'] !== 'no';
      },
    });
    const client = new LegacyPollClient(server.baseUrl);
    await client.open();
    await client.send(encodeFrame('x'));
    await client.poll();
    const refused = await client.poll({ 'X-Token': 'no' });
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'ERR_UNAUTHORIZED' });
    const id = client.sessionId;
    expect(seen).toEqual([
      'GET /socket.io/xhr-polling//<ts>',
      `POST /socket.io/xhr-polling/${id}/send`,
      `GET /socket.io/xhr-polling/${id}/<ts>`,
      `GET /socket.io/xhr-polling/${id}/<ts>`,
    ]);
  });

  it('detaches a poll whose client gave up while the authorization hook was thinking', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let calls = 0;
    const server = await echoServer({
      reconnectWindowMs: 500,
      pollDurationMs: 10_000,
      authorize: async () => {
        if (++calls === 2) await gate;
        return true;
      },
    });
    const client = new LegacyPollClient(server.baseUrl);
    await client.open();
    const conn = server.conns[0] as Conn;
    // node:http rather than fetch: fetch's pool keeps a spare connection that delays close().
    const poll = http.get(`${server.baseUrl}/socket.io/xhr-polling/${client.sessionId}/1`, { agent: false });
    const failed = once(poll, 'error');
    await waitFor(() => calls === 2);
    poll.destroy();
    await failed;
    // Give the server a moment to see the reset before the hook answers.
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    // Attached, that poll would hold the session open for pollDurationMs (10 s).
    await waitFor(() => server.disconnects.length === 1, { timeoutMs: 3_000, what: 'the window to run out' });
    expect(server.disconnects[0]?.reason).toBe('window-expired');
    expect(conn.state).toBe('closed');
  });
});
