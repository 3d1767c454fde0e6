import { afterEach, describe, expect, it } from 'vitest';
import Fastify from 'fastify';
import type { AddressInfo } from 'node:net';
import { switchyard } from '../../src/server.js';
import { LegacyWsClient } from '../helpers/legacy-ws.js';
import { handshakeHeaders, PlainClient, rawUpgrade, startEndpoint } from '../helpers/plain-ws.js';
import type { StartedServer } from '../helpers/start-server.js';

describe('plain websocket endpoint: handshake', () => {
  let started: StartedServer | undefined;
  afterEach(async () => {
    await started?.close();
    started = undefined;
  });

  async function start(...args: Parameters<typeof startEndpoint>) {
    const s = await startEndpoint(...args);
    started = s;
    return s;
  }

  it.each([
    ['POST', {}, 405, 'ERR_METHOD_NOT_ALLOWED'],
    ['GET', { Upgrade: 'h2c' }, 400, 'ERR_BAD_REQUEST'],
    ['GET', { 'Sec-WebSocket-Version': '8' }, 426, 'ERR_UNSUPPORTED_VERSION'],
    ['GET', { 'Sec-WebSocket-Key': 'short' }, 400, 'ERR_BAD_REQUEST'],
    ['GET', { 'Sec-WebSocket-Protocol': 'a, b c' }, 400, 'ERR_BAD_REQUEST'],
    ['GET', { Origin: 'http://[bad' }, 400, 'ERR_BAD_REQUEST'],
    ['GET', { Origin: 'http://evil.example' }, 403, 'ERR_ORIGIN_REFUSED'],
  ])('%s %j → %i %s', async (method, extra, status, code) => {
    const s = await start({});
    const answer = await rawUpgrade(`${s.baseUrl}/ws`, handshakeHeaders(extra as Record<string, string>), method);
    expect(answer.status).toBe(status);
    expect(answer.headers['content-type']).toMatch(/application\/json/);
    expect(JSON.parse(answer.body)).toMatchObject({ code });
    if (status === 405) expect(answer.headers.allow).toBe('GET');
    if (status === 426) expect(answer.headers['sec-websocket-version']).toBe('13');
  });

  it('accepts a valid handshake with 101 and names no subprotocol without a hook', async () => {
    const s = await start({});
    const answer = await rawUpgrade(`${s.baseUrl}/ws`, handshakeHeaders({ 'Sec-WebSocket-Protocol': 'chat' }));
    expect(answer.status).toBe(101);
    expect(answer.headers['sec-websocket-protocol']).toBeUndefined();
    expect(answer.headers.server).toBeUndefined();
  });

  it('sends serverName as the Server header of the 101', async () => {
    const s = await start({ serverName: 'yard/1' });
    const answer = await rawUpgrade(`${s.baseUrl}/ws`, handshakeHeaders());
    expect(answer.status).toBe(101);
    expect(answer.headers.server).toBe('yard/1');
  });

  it('gives the accept hook the resource, origin, remote address and offered protocols; false → 403', async () => {
    const seen: unknown[] = [];
    const s = await start({
      allowedOrigin: () => true,
      accept: async (pending, protocols) => {
        seen.push({
          resource: pending.resource.href,
          origin: pending.origin?.href,
          remoteAddress: pending.remoteAddress,
          protocols,
        });
        return pending.resource.searchParams.get('token') === 'ok';
      },
    });
    const refused = await rawUpgrade(
      `${s.baseUrl}/ws?token=no`,
      handshakeHeaders({ Origin: 'https://app.example', 'Sec-WebSocket-Protocol': 'a, b' }),
    );
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'ERR_ACCESS_REFUSED' });
    const host = new URL(s.baseUrl).host;
    expect(seen[0]).toMatchObject({
      resource: `ws://${host}/ws?token=no`,
      origin: 'https://app.example/',
      protocols: ['a', 'b'],
    });
    expect((seen[0] as { remoteAddress: string }).remoteAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    const client = await PlainClient.connect(`${s.url}?token=ok`);
    expect(client.ws.readyState).toBe(client.ws.OPEN);
    client.ws.close();
  });

  it('lets the hook choose an offered subprotocol, visible on the connection', async () => {
    const s = await start({ accept: (_pending, protocols) => ({ protocol: protocols.find((p) => p === 'v2') }) });
    const client = await PlainClient.connect(s.url, ['v1', 'v2']);
    expect(client.ws.protocol).toBe('v2');
    await expect.poll(() => s.conns[0]?.protocol).toBe('v2');
    client.ws.close();
    const none = await PlainClient.connect(s.url);
    expect(none.ws.protocol).toBe('');
    await expect.poll(() => s.conns[1]?.protocol).toBe('');
    none.ws.close();
  });

  it('answers 500 ERR_PROTOCOL_NOT_OFFERED when the hook picks a protocol the client did not offer', async () => {
    const errors: Error[] = [];
    const s = await start({ accept: () => ({ protocol: 'v9' }) }, undefined, (server) =>
      server.on('error', (error) => errors.push(error)),
    );
    const answer = await rawUpgrade(`${s.baseUrl}/ws`, handshakeHeaders({ 'Sec-WebSocket-Protocol': 'v1' }));
    expect(answer.status).toBe(500);
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'ERR_PROTOCOL_NOT_OFFERED' });
    expect(errors.map((e) => (e as { code?: string }).code)).toContain('ERR_PROTOCOL_NOT_OFFERED');
  });

  it('answers 500 ERR_HANDLER_FAILED when the hook throws', async () => {
    const s = await start({
      accept: () => {
        throw new Error('boom');
      },
    });
    const answer = await rawUpgrade(`${s.baseUrl}/ws`, handshakeHeaders());
    expect(answer.status).toBe(500);
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'ERR_HANDLER_FAILED' });
  });

  describe('origin policy', () => {
    it('default: same host over http(s), missing Origin allowed', async () => {
      const s = await start({});
      const host = new URL(s.baseUrl).host;
      expect((await rawUpgrade(`${s.baseUrl}/ws`, handshakeHeaders({ Origin: `http://${host}` }))).status).toBe(101);
      expect((await rawUpgrade(`${s.baseUrl}/ws`, handshakeHeaders({ Origin: `https://${host}` }))).status).toBe(101);
      expect((await rawUpgrade(`${s.baseUrl}/ws`, handshakeHeaders())).status).toBe(101);
      // Unanchored, the Go pattern admitted a prefix or suffix around the host.
      expect((await rawUpgrade(`${s.baseUrl}/ws`, handshakeHeaders({ Origin: `http://${host}/x` }))).status).toBe(403);
      expect(
        (await rawUpgrade(`${s.baseUrl}/ws`, handshakeHeaders({ Origin: `http://evil.example/?http://${host}` })))
          .status,
      ).toBe(403);
    });

    it('escapes the host: my.site.com does not admit myxsite.com', async () => {
      const s = await start({ allowedOrigin: 'https://{{host}}' });
      const ask = (origin: string) =>
        rawUpgrade(`${s.baseUrl}/ws`, handshakeHeaders({ Host: 'my.site.com', Origin: origin })).then((a) => a.status);
      expect(await ask('https://my.site.com')).toBe(101);
      expect(await ask('https://myxsite.com')).toBe(403);
      expect(await ask('http://my.site.com')).toBe(403);
    });

    it('takes a RegExp and a function; allowMissingOrigin: false refuses requests without Origin', async () => {
      const s = await start({ allowedOrigin: /^https:\/\/(a|b)\.example$/, allowMissingOrigin: false });
      expect((await rawUpgrade(`${s.baseUrl}/ws`, handshakeHeaders({ Origin: 'https://b.example' }))).status).toBe(101);
      expect((await rawUpgrade(`${s.baseUrl}/ws`, handshakeHeaders({ Origin: 'https://c.example' }))).status).toBe(403);
      const missing = await rawUpgrade(`${s.baseUrl}/ws`, handshakeHeaders());
      expect(missing.status).toBe(403);
      expect(JSON.parse(missing.body)).toMatchObject({ code: 'ERR_ORIGIN_REFUSED' });
      await started?.close();
      const f = await start({ allowedOrigin: (origin, host) => origin.endsWith(host.split(':')[1] ?? '?') });
      const port = new URL(f.baseUrl).port;
      expect((await rawUpgrade(`${f.baseUrl}/ws`, handshakeHeaders({ Origin: `http://any:${port}` }))).status).toBe(
        101,
      );
      expect((await rawUpgrade(`${f.baseUrl}/ws`, handshakeHeaders({ Origin: 'http://any:1' }))).status).toBe(403);
    });
  });

  it('shares the HTTP server with the legacy resource and leaves other paths 404', async () => {
    const s = await start({ mode: 'text' }, async (conn) => {
      for await (const text of conn.messages) await conn.send(`echo:${text}`);
    });
    const legacy = await LegacyWsClient.connect(`${s.wsUrl}/socket.io/websocket`);
    expect(legacy.sessionId).toMatch(/^[0-9A-Za-z]{16}$/);
    const client = await PlainClient.connect(s.url);
    client.ws.send('hi');
    await client.waitForMessages(1);
    expect(client.texts()).toEqual(['echo:hi']);
    expect((await rawUpgrade(`${s.baseUrl}/elsewhere`, handshakeHeaders())).status).toBe(404);
    legacy.close();
    client.ws.close();
  });

  it('mounts through a fastify route option; plain GETs still reach the route handler', async () => {
    const app = Fastify();
    await app.register(switchyard);
    app.get(
      '/route-ws',
      {
        websocket: {
          mode: 'text',
          handler: async (conn) => {
            for await (const text of conn.messages) await conn.send(text.toUpperCase());
          },
        },
      },
      async (_request, reply) => reply.code(426).send({ code: 'ERR_UPGRADE_REQUIRED' }),
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const port = (app.server.address() as AddressInfo).port;
      const plain = await fetch(`http://127.0.0.1:${port}/route-ws`);
      expect(plain.status).toBe(426);
      const client = await PlainClient.connect(`ws://127.0.0.1:${port}/route-ws`);
      client.ws.send('shout');
      await client.waitForMessages(1);
      expect(client.texts()).toEqual(['SHOUT']);
      // The switchyard of a shared app shuts down while the app still listens: 503.
      await app.switchyard.close();
      expect(await client.waitForClose()).toBe(1001);
      const late = await rawUpgrade(`http://127.0.0.1:${port}/route-ws`, handshakeHeaders());
      expect(late.status).toBe(503);
      expect(JSON.parse(late.body)).toMatchObject({ code: 'ERR_SHUTTING_DOWN' });
    } finally {
      await app.switchyard.close();
      await app.close();
    }
  });
});

describe('plain websocket endpoint: the resource scheme behind a TLS proxy', () => {
  let started: StartedServer | undefined;
  afterEach(async () => {
    await started?.close();
    started = undefined;
  });

  /** The scheme of `pending.resource` for one handshake that carries `X-Forwarded-Proto: <proto>`. */
  async function schemeSeen(trustProxy: readonly string[], proto: string): Promise<string | undefined> {
    let scheme: string | undefined;
    const accept = (pending: { resource: URL }) => {
      scheme = pending.resource.protocol;
      return true;
    };
    started = await startEndpoint({ pingIntervalMs: 0, accept }, undefined, undefined, { trustProxy });
    const client = await PlainClient.connect(`${started.wsUrl}/ws`, undefined, {
      headers: { 'X-Forwarded-Proto': proto },
    });
    client.ws.terminate();
    await started.close();
    started = undefined;
    return scheme;
  }

  it('is wss: when a trusted proxy says https, ws: otherwise or from anyone else', async () => {
    expect(await schemeSeen(['127.0.0.1'], 'https')).toBe('wss:');
    expect(await schemeSeen(['127.0.0.1'], 'http')).toBe('ws:');
    expect(await schemeSeen([], 'https')).toBe('ws:');
  });
});
