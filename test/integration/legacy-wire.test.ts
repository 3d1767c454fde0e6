/**
 * Byte-level checks of each legacy transport's own framing, the reconnect window seen
 * through each, the JSONP index, sends to unknown sessions, disabled transports and the
 * hixie-76 handshake. Real sockets; raw clients from test/helpers/legacy-http.ts.
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/codecs/sio.js';
import { resolveOptions } from '../../src/options.js';
import { HixieClient, JsonpClient, StreamClient, postSend, type LegacyClient } from '../helpers/legacy-http.js';
import { LegacyWsClient } from '../helpers/legacy-ws.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';

let started: StartedServer;
const clients: { close(): void }[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await started?.close();
});

/** Writes `text` on a fresh TCP connection and collects the answer until the server ends it. */
function rawExchange(baseUrl: string, text: string): Promise<string> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
    socket.setTimeout(3_000, () => socket.destroy());
    socket.write(text);
  });
}

async function echoServer(options: Parameters<typeof startServer>[0] = {}): Promise<StartedServer> {
  started = await startServer({ flashPolicyPort: false, ...options }, (s) =>
    s.onMessage((conn, data) => conn.send(data)),
  );
  return started;
}

function track<T extends { close(): void }>(client: T): T {
  clients.push(client);
  return client;
}

describe('htmlfile framing', () => {
  it('streams chunked UTF-8 HTML: the 256-byte preamble, then one script element per payload, each at once', async () => {
    await echoServer();
    const client = track(await StreamClient.open(started.baseUrl, 'htmlfile'));
    await client.waitForSession();
    const headers = client.response?.headers ?? {};
    expect(headers['content-type']).toBe('text/html; charset=UTF-8');
    expect(headers['transfer-encoding']).toBe('chunked');
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(client.raw[0]?.startsWith('<html><body>' + ' '.repeat(244))).toBe(true);
    await client.send(encodeFrame('</script><script>alert(1)</script>\u2028<!--'));
    await client.nextMessage();
    // Every payload came as a chunk of its own, before the next one was written.
    const script = client.raw.find((chunk) => chunk.includes('alert'));
    expect(script).toBe(
      '<script>parent.s._("~m~39~m~\\u003c/script\\u003e\\u003cscript\\u003ealert(1)\\u003c/script\\u003e\\u2028\\u003c!--", document);</script>',
    );
  });
});

describe('xhr-multipart framing', () => {
  it('writes multipart/x-mixed-replace parts in the exact layout the client parses', async () => {
    await echoServer();
    const client = track(await StreamClient.open(started.baseUrl, 'xhr-multipart'));
    const sessionId = await client.waitForSession();
    expect(client.response?.headers['content-type']).toBe('multipart/x-mixed-replace;boundary="socketio"');
    await client.send(encodeFrame('日本'));
    await client.nextMessage();
    expect(client.raw.join('')).toBe(
      `--socketio\nContent-Type: text/plain\n\n~m~16~m~${sessionId}\n--socketio\n` +
        `Content-Type: text/plain\n\n~m~2~m~日本\n--socketio\n`,
    );
  });
});

describe('jsonp-polling framing', () => {
  it('answers every poll with a callback call, an empty one included, as text/javascript', async () => {
    await echoServer({ pollDurationMs: 100 });
    const first = await fetch(`${started.baseUrl}/socket.io/jsonp-polling//${Date.now()}/12`);
    expect(first.headers.get('content-type')).toBe('text/javascript; charset=UTF-8');
    expect(first.headers.get('x-content-type-options')).toBe('nosniff');
    const body = await first.text();
    expect(body).toMatch(/^io\.JSONP\[12\]\._\("~m~16~m~[0-9A-Za-z]{16}"\);$/);
    const sessionId = body.slice(-19, -3);
    const empty = await fetch(`${started.baseUrl}/socket.io/jsonp-polling/${sessionId}/${Date.now()}/12`);
    expect(await empty.text()).toBe('io.JSONP[12]._("");');
  });

  it.each(['abc', '1234567', '0x1', '-1', '1%3Balert(1)', '', 'constructor'])(
    'refuses the JSONP index %j with 400, never reflecting it',
    async (index) => {
      await echoServer();
      const res = await fetch(`${started.baseUrl}/socket.io/jsonp-polling//${Date.now()}/${index}`);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { code: string; message: string };
      expect(body.code).toBe('ERR_BAD_CALLBACK');
      if (index !== '') expect(JSON.stringify(body)).not.toContain(index);
      expect(started.server.connectionCount).toBe(0);
    },
  );

  it('turns the form’s CRLF line breaks back into LF before decoding', async () => {
    await echoServer();
    const client = track(JsonpClient.start(started.baseUrl));
    await client.waitForSession();
    // JsonpClient.send encodes as the hidden form does: "a\nb" goes as "a\r\nb".
    await client.send(encodeFrame('a\nb') + encodeFrame('c\n'));
    expect(await client.nextMessage()).toEqual({ type: 'text', data: 'a\nb' });
    expect(await client.nextMessage()).toEqual({ type: 'text', data: 'c\n' });
  });
});

const STREAMS = ['htmlfile', 'xhr-multipart'] as const;

describe.each([...STREAMS, 'jsonp-polling', 'websocket'] as const)('the reconnect window over %s', (transport) => {
  const open = (sessionId = ''): Promise<LegacyClient> => {
    if (transport === 'jsonp-polling') return Promise.resolve(JsonpClient.start(started.baseUrl, 0, sessionId));
    if (transport === 'websocket') {
      // hixie-76; the 0.6 client never re-opens a websocket with its id, but the server allows it.
      const path = `/socket.io/websocket${sessionId === '' ? '' : '/' + sessionId}`;
      return HixieClient.connect(started.baseUrl, path, 76, sessionId);
    }
    return StreamClient.open(started.baseUrl, transport, sessionId);
  };

  it('delivers what was sent while detached, in order, when the client comes back inside the window', async () => {
    await echoServer({ reconnectWindowMs: 2_000, pollDurationMs: 200 });
    const first = await open();
    const sessionId = await first.waitForSession();
    const conn = started.server.getConn(sessionId);
    first.close();
    await waitFor(() => conn?.state === 'detached', { what: 'the session to detach' });
    for (const text of ['one', 'two 😀', 'three']) expect(conn?.send(text).ok).toBe(true);
    const second = track(await open(sessionId));
    for (const text of ['one', 'two 😀', 'three']) {
      expect(await second.nextMessage()).toEqual({ type: 'text', data: text });
    }
    expect(conn?.isOpen).toBe(true); // open, or detached between two polls
    expect(second.payloads.join('')).not.toContain(`~m~16~m~${sessionId}`);
  });

  it('expires the session after the window; its id then answers 404 and its sends 404', async () => {
    await echoServer({ reconnectWindowMs: 150, pollDurationMs: 100 });
    const first = await open();
    const sessionId = await first.waitForSession();
    const reasons: string[] = [];
    started.server.getConn(sessionId)?.on('disconnect', (info) => reasons.push(info.reason));
    first.close();
    await waitFor(() => reasons.length > 0, { what: 'the window to expire' });
    expect(reasons).toEqual(['window-expired']);
    const suffix = transport === 'jsonp-polling' ? `${sessionId}/1/0` : `${sessionId}/1`;
    const pollTransport = transport === 'websocket' ? 'xhr-polling' : transport;
    const again = await fetch(`${started.baseUrl}/socket.io/${pollTransport}/${suffix}`);
    expect(again.status).toBe(404);
    expect(((await again.json()) as { code: string }).code).toBe('ERR_UNKNOWN_SESSION');
  });
});

describe('sends to sessions that do not exist', () => {
  it.each([
    ['htmlfile', 'NoSuchSession000/send'],
    ['xhr-multipart', 'NoSuchSession000/send'],
    ['xhr-polling', 'NoSuchSession000/send'],
    ['jsonp-polling', 'NoSuchSession000/1700000000000/0'],
  ])('%s answers 404 ERR_UNKNOWN_SESSION (any non-200 makes the client start over)', async (transport, path) => {
    await echoServer();
    const res = await fetch(`${started.baseUrl}/socket.io/${transport}/${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'data=' + encodeURIComponent(encodeFrame('lost')),
    });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 'ERR_UNKNOWN_SESSION' });
  });
});

describe('turning transports off', () => {
  it('defaults to all six in the client’s order', () => {
    expect(resolveOptions().transports).toEqual([
      'websocket',
      'flashsocket',
      'htmlfile',
      'xhr-multipart',
      'xhr-polling',
      'jsonp-polling',
    ]);
  });

  it('answers 404 for a disabled transport, over HTTP and upgrades, and keeps the enabled ones', async () => {
    await echoServer({ transports: ['xhr-polling'] });
    for (const path of ['htmlfile//1', 'xhr-multipart/', 'jsonp-polling//1/0', 'websocket']) {
      const res = await fetch(`${started.baseUrl}/socket.io/${path}`);
      expect(res.status, path).toBe(404);
      expect(await res.json()).toMatchObject({ code: 'ERR_UNKNOWN_TRANSPORT' });
    }
    const hixie = await new Promise<number>((resolve, reject) => {
      const req = request(`${started.baseUrl}/socket.io/flashsocket`, {
        headers: {
          Connection: 'Upgrade',
          Upgrade: 'WebSocket',
          'Sec-WebSocket-Key1': '1 1',
          'Sec-WebSocket-Key2': '2 2',
        },
      });
      req.on('response', (res) => resolve(res.statusCode ?? 0));
      req.on('upgrade', () => reject(new Error('upgraded')));
      req.on('error', reject);
      req.end();
    });
    expect(hixie).toBe(404);
    expect((await fetch(`${started.baseUrl}/socket.io/xhr-polling//1`)).status).toBe(200);
  });

  it('refuses unknown transport names in the options', () => {
    expect(() => resolveOptions({ transports: ['carrier-pigeon' as never] })).toThrow(/unknown transport/);
  });
});

describe('websocket drafts (hixie-76, hixie-75) and flashsocket', () => {
  it.each(['websocket', 'flashsocket'])(
    '%s completes the hixie-76 handshake with the right challenge answer',
    async (transport) => {
      await echoServer();
      const client = track(await HixieClient.connect(started.baseUrl, `/socket.io/${transport}`, 76));
      expect(client.head.split('\r\n')[0]).toBe('HTTP/1.1 101 WebSocket Protocol Handshake');
      expect(client.head).toMatch(/^Upgrade: WebSocket$/m);
      expect(client.head).toContain(`Sec-WebSocket-Origin: ${started.baseUrl}`);
      expect(client.head).toContain(`Sec-WebSocket-Location: ${started.wsUrl}/socket.io/${transport}`);
      expect(client.answer?.equals(HixieClient.expectedAnswer())).toBe(true);
      await client.send(encodeFrame('héllo 日本 😀'));
      expect(await client.nextMessage()).toEqual({ type: 'text', data: 'héllo 日本 😀' });
    },
  );

  it('answers hixie-75 with its own status line and headers', async () => {
    await echoServer();
    const client = track(await HixieClient.connect(started.baseUrl, '/socket.io/websocket', 75));
    expect(client.head.split('\r\n')[0]).toBe('HTTP/1.1 101 Web Socket Protocol Handshake');
    expect(client.head).toContain(`WebSocket-Location: ${started.wsUrl}/socket.io/websocket`);
  });

  it('refuses a hixie-76 handshake with invalid keys, without making a session', async () => {
    await echoServer();
    const answer = await rawExchange(
      started.baseUrl,
      'GET /socket.io/websocket HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: WebSocket\r\n' +
        'Sec-WebSocket-Key1: 5 5 5\r\nSec-WebSocket-Key2: 2 2\r\n\r\n12345678',
    );
    const status = Number(answer.split(' ')[1]);
    expect(status).toBe(400);
    expect(started.server.connectionCount).toBe(0);
  });

  it('cuts off a hixie-76 client that never sends its key3 after hixieHandshakeTimeoutMs', async () => {
    await echoServer({ hixieHandshakeTimeoutMs: 150 });
    const url = new URL(started.baseUrl);
    const socket = connect(Number(url.port), url.hostname);
    socket.on('error', () => undefined);
    let isClosed = false;
    socket.on('close', () => (isClosed = true));
    socket.resume(); // read the 101 and the end of the stream
    const startedAt = Date.now();
    // Headers of a hixie-76 handshake, without the 8 bytes of key3 that must follow them.
    socket.write(
      'GET /socket.io/websocket HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: WebSocket\r\n' +
        'Sec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\nSec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\n\r\n',
    );
    await waitFor(() => isClosed, { what: 'the server to cut the half-done handshake' });
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(140);
    expect(started.server.connectionCount).toBe(0);
  });

  it('refuses a hixieHandshakeTimeoutMs of 0', () => {
    expect(() => resolveOptions({ hixieHandshakeTimeoutMs: 0 })).toThrow(/hixieHandshakeTimeoutMs/);
  });

  it('detaches when a draft client closes its socket; the window then ends the session', async () => {
    await echoServer({ reconnectWindowMs: 100 });
    const client = await HixieClient.connect(started.baseUrl, '/socket.io/websocket', 76);
    const conn = started.server.getConn(client.sessionId);
    client.close();
    await waitFor(() => conn?.state === 'closed', { what: 'the session to close' });
  });

  it('server close of a hixie-76 socket sends the closing handshake', async () => {
    await echoServer();
    const client = track(await HixieClient.connect(started.baseUrl, '/socket.io/flashsocket', 76));
    started.server.getConn(client.sessionId)?.close();
    await waitFor(() => client.isEnded, { what: 'the socket to end' });
  });

  it('flashsocket also takes RFC 6455 clients (ws)', async () => {
    await echoServer();
    const client = track(await LegacyWsClient.connect(`${started.wsUrl}/socket.io/flashsocket`));
    expect(started.server.getConn(client.sessionId)?.transport).toBe('flashsocket');
    client.send(encodeFrame('~j~{"x":1}'));
    expect(await client.nextMessage()).toEqual({ type: 'json', data: { x: 1 } });
  });
});

describe('streams under POST load', () => {
  it('htmlfile keeps order across many sends', async () => {
    await echoServer();
    const client = track(await StreamClient.open(started.baseUrl, 'htmlfile'));
    await client.waitForSession();
    const texts = Array.from({ length: 20 }, (_, i) => `m${i} </script>`);
    expect(
      await postSend(`${started.baseUrl}/socket.io/htmlfile/${client.sessionId}/send`, texts.map(encodeFrame).join('')),
    ).toBe(200);
    for (const text of texts) expect(await client.nextMessage()).toEqual({ type: 'text', data: text });
  });
});

describe.each(STREAMS)('backpressure on %s', (transport) => {
  it('queues while the reader is stalled, then delivers everything in order', async () => {
    await echoServer({ maxQueueMessages: 100_000, maxQueueBytes: 64 * 1024 * 1024 });
    const client = track(await StreamClient.open(started.baseUrl, transport));
    const sessionId = await client.waitForSession();
    const conn = started.server.getConn(sessionId);
    client.response?.pause();
    const chunk = 'x'.repeat(4096);
    let sent = 0;
    // Write until the response reports backpressure and the session starts queueing.
    for (; sent < 20_000 && (conn?.queuedMessages ?? 0) === 0; sent++) conn?.send(`${sent} ${chunk}`);
    expect(conn?.queuedMessages).toBeGreaterThan(0);
    for (let i = 0; i < 10; i++) conn?.send(`${sent++} ${chunk}`);
    client.response?.resume();
    await waitFor(() => client.messages.length >= sent, { timeoutMs: 15_000, what: 'every message' });
    const numbers = client.messages.map((m) => Number(String(m.data).split(' ')[0]));
    expect(numbers).toEqual(Array.from({ length: sent }, (_, i) => i));
    expect(conn?.queuedMessages).toBe(0);
  });
});
