/**
 * The one admission path on every family: `authorize` runs for plain endpoints too, a
 * cookie-authorized jsonp-polling session opens only for an allowed or same-site page,
 * handshakes are rate-limited per address when asked, and `trustProxy` gives the caps the
 * client's address only from a trusted proxy.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/codecs/sio.js';
import { LegacyPollClient } from '../helpers/legacy-poll.js';
import { rawUpgrade, handshakeHeaders } from '../helpers/plain-ws.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';

let started: StartedServer | undefined;
afterEach(async () => {
  await started?.close();
  started = undefined;
});

const hasCookie = (req: { headers: { cookie?: string } }) => req.headers.cookie === 'user=alice';

describe('admission on every family', () => {
  it('authorize refuses a plain endpoint upgrade without the cookie (401) and admits one with it', async () => {
    started = await startServer({ authorize: hasCookie }, (server) => {
      server.websocket('/plain', { pingIntervalMs: 0 }, () => undefined);
    });
    const url = `${started.baseUrl}/plain`;
    expect((await rawUpgrade(url, handshakeHeaders())).status).toBe(401);
    expect((await rawUpgrade(url, handshakeHeaders({ Cookie: 'user=alice' }))).status).toBe(101);
  });

  it('jsonp-polling with authorize: a cross-site page is refused, a same-site or listed page is served', async () => {
    started = await startServer({ authorize: hasCookie, origins: ['allowed.example:*'] });
    const open = (headers: Record<string, string>) =>
      fetch(`${started?.baseUrl}/socket.io/jsonp-polling//${Date.now()}/0`, {
        headers: { Cookie: 'user=alice', ...headers },
      });
    const crossSite = await open({ 'Sec-Fetch-Site': 'cross-site', Referer: 'http://evil.example/page' });
    expect(crossSite.status).toBe(403);
    expect(await crossSite.json()).toMatchObject({ code: 'ERR_ORIGIN_REFUSED' });
    const noEvidence = await open({});
    expect(noEvidence.status).toBe(403);
    expect((await open({ 'Sec-Fetch-Site': 'same-origin' })).status).toBe(200);
    expect((await open({ 'Sec-Fetch-Site': 'cross-site', Referer: 'http://allowed.example/chat' })).status).toBe(200);
  });

  it('maxHandshakesPerSecondPerAddress refuses the burst with 429 ERR_RATE_LIMITED', async () => {
    started = await startServer({ maxHandshakesPerSecondPerAddress: 3 });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const answer = await fetch(`${started.baseUrl}/socket.io/xhr-polling//${Date.now()}`);
      statuses.push(answer.status);
      if (answer.status === 429) expect(await answer.json()).toMatchObject({ code: 'ERR_RATE_LIMITED' });
      else await answer.text();
    }
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(3);
    expect(statuses).toContain(429);
  });

  it('trustProxy: X-Forwarded-For counts in the per-address cap only from a trusted proxy', async () => {
    started = await startServer({ maxConnectionsPerAddress: 1, trustProxy: ['127.0.0.1'] });
    const open = (forwardedFor: string) =>
      fetch(`${started?.baseUrl}/socket.io/xhr-polling//${Date.now()}`, {
        headers: { 'X-Forwarded-For': forwardedFor },
      });
    expect((await open('203.0.113.1')).status).toBe(200);
    expect((await open('203.0.113.2')).status).toBe(200);
    expect((await open('203.0.113.1')).status).toBe(429);
    await started.close();
    started = await startServer({ maxConnectionsPerAddress: 1 });
    const untrusted = (forwardedFor: string) =>
      fetch(`${started?.baseUrl}/socket.io/xhr-polling//${Date.now()}`, {
        headers: { 'X-Forwarded-For': forwardedFor },
      });
    expect((await untrusted('203.0.113.1')).status).toBe(200);
    // Not trusted: both count as 127.0.0.1, whatever the header says.
    expect((await untrusted('203.0.113.2')).status).toBe(429);
  });

  it('maxMessagesPerSecond drops and counts 0.6 messages over the rate; the POST is still 200', async () => {
    const got: unknown[] = [];
    started = await startServer({ maxMessagesPerSecond: 5 }, (server) =>
      server.onMessage((_c, data) => got.push(data)),
    );
    const client = await LegacyPollClient.connect(started.baseUrl);
    const payload = Array.from({ length: 20 }, (_, i) => encodeFrame(`m${i}`)).join('');
    const answer = await fetch(`${started.baseUrl}/socket.io/xhr-polling/${client.sessionId}/send`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'data=' + encodeURIComponent(payload),
    });
    expect(answer.status).toBe(200);
    expect(got.length).toBeGreaterThanOrEqual(5);
    expect(got.length).toBeLessThan(20);
    expect(started.server.getConn(client.sessionId)?.rateLimitedMessages).toBe(20 - got.length);
  });
});
