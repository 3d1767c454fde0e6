/**
 * A standalone server given `https: { key, cert }` (a self-signed certificate made for the
 * test) speaks only HTTPS and WSS: the 0.6 client's websocket and xhr-polling, sac-sock and a
 * plain endpoint all work over TLS, what depends on the scheme sees it (a plain endpoint's
 * `wss:` resource, the hixie-76 `Sec-WebSocket-Location`), the HTTP limits still hold, and a
 * plain-HTTP request on that port gets no answer in clear text.
 */
import { request, type RequestOptions } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/codecs/sio.js';
import type { PendingConnection } from '../../src/endpoints/pending.js';
import { LegacyWsClient } from '../helpers/legacy-ws.js';
import { PlainClient } from '../helpers/plain-ws.js';
import { rawRequest } from '../helpers/raw-http.js';
import { SacSockTestClient } from '../helpers/sac-sock-client.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { selfSignedCertificate, type TestCertificate } from '../helpers/tls.js';
import { installEchoes, PLAIN_ECHO_PATH } from '../helpers/well-behaved.js';

/** One HTTPS request trusting the test certificate; resolves with status and body. */
function httpsRequest(
  url: string,
  ca: string,
  options: RequestOptions & { body?: string } = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, ...options }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('TLS (createServer({ https: { key, cert } }))', () => {
  let certificate: TestCertificate;
  let started: StartedServer;
  const pendings: PendingConnection[] = [];

  beforeAll(async () => {
    certificate = selfSignedCertificate();
    started = await startServer(
      { https: certificate, heartbeatIntervalMs: 0, pollDurationMs: 500, maxHeaderBytes: 2_048 },
      (server) => {
        installEchoes(server);
        server.websocket(
          '/secure',
          {
            mode: 'text',
            pingIntervalMs: 0,
            accept: (pending) => {
              pendings.push(pending);
              return true;
            },
          },
          async (conn) => {
            for await (const text of conn.messages) await conn.send(text);
          },
        );
      },
    );
  });
  afterAll(async () => {
    await started?.close();
  });

  const wssUrl = () => started.baseUrl.replace(/^https/, 'wss');

  it('listens on https:// and names it so', () => {
    expect(started.baseUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('0.6 websocket over WSS: handshake, echo', async () => {
    const client = await LegacyWsClient.connect(`${wssUrl()}/socket.io/websocket`, { ca: certificate.cert });
    client.send(encodeFrame('über TLS 😀'));
    expect(await client.nextMessage((m) => m.type === 'text')).toEqual({ type: 'text', data: 'über TLS 😀' });
    client.ws.close();
  });

  it('0.6 xhr-polling over HTTPS: handshake, send, poll', async () => {
    const ca = certificate.cert;
    const base = `${started.baseUrl}/socket.io/xhr-polling`;
    const handshake = await httpsRequest(`${base}//${Date.now()}`, ca);
    expect(handshake.status).toBe(200);
    const sessionId = /^~m~16~m~([0-9A-Za-z]{16})$/.exec(handshake.body)?.[1];
    expect(sessionId).toBeDefined();
    const poll = httpsRequest(`${base}/${sessionId}/${Date.now()}`, ca);
    const body = 'data=' + encodeURIComponent(encodeFrame('secure poll'));
    const sent = await httpsRequest(`${base}/${sessionId}/send`, ca, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body) },
      body,
    });
    expect(sent.status).toBe(200);
    expect((await poll).body).toBe(encodeFrame('secure poll'));
  });

  it('sac-sock over WSS: an event echoed', async () => {
    const client = await SacSockTestClient.connect(`${wssUrl()}/socket`, 'sac-sock', { ca: certificate.cert });
    client.emit('echo', 'sealed');
    expect((await client.next('echo')).payload.toString()).toBe('sealed');
    client.close();
  });

  it('a plain endpoint over WSS: echo, and the accept hook sees a wss: resource', async () => {
    const client = await PlainClient.connect(`${wssUrl()}/secure`, undefined, { ca: certificate.cert });
    client.ws.send('hello');
    await client.waitForMessages(1);
    expect(client.texts()).toEqual(['hello']);
    expect(pendings.at(-1)?.resource.href).toBe(`${wssUrl()}/secure`);
    client.ws.terminate();
    const echo = await PlainClient.connect(`${wssUrl()}${PLAIN_ECHO_PATH}`, undefined, { ca: certificate.cert });
    echo.ws.send('again');
    await echo.waitForMessages(1);
    echo.ws.terminate();
  });

  it('a hixie-76 handshake over TLS is told its wss:// location', async () => {
    const { port } = new URL(started.baseUrl);
    const socket = tlsConnect({ host: '127.0.0.1', port: Number(port), ca: certificate.cert, servername: 'localhost' });
    socket.on('error', () => undefined);
    const head = await new Promise<string>((resolve) => {
      let received = '';
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString('latin1');
        if (received.includes('\r\n\r\n')) resolve(received);
      });
      socket.write(
        `GET /socket.io/flashsocket HTTP/1.1\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\nHost: 127.0.0.1:${port}\r\n` +
          `Origin: ${started.baseUrl}\r\nSec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\nSec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\n\r\n^n:ds[4U`,
      );
    });
    socket.destroy();
    expect(head).toMatch(/^HTTP\/1\.1 101 /);
    expect(head).toContain(`Sec-WebSocket-Location: wss://127.0.0.1:${port}/socket.io/flashsocket`);
  });

  it('keeps the HTTP limits over TLS: an oversize head gets 431', async () => {
    const answer = await httpsRequest(`${started.baseUrl}/socket.io/xhr-polling//1`, certificate.cert, {
      headers: { 'X-Big': 'x'.repeat(4_000) },
    });
    expect(answer.status).toBe(431);
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'ERR_HEADERS_TOO_LARGE' });
  });

  it('answers nothing in clear text to plain HTTP on the TLS port', async () => {
    const port = Number(new URL(started.baseUrl).port);
    const answer = await rawRequest(
      port,
      Buffer.from('GET /socket.io/xhr-polling//1 HTTP/1.1\r\nHost: x\r\n\r\n'),
      3_000,
    );
    expect(answer.status).toBe(0);
  });
});
